"""The distributed store of the deduplicator: Redis, shared by every worker.

Each decision runs under one lock (SET NX with a token and an expiry, released by a Lua
compare-and-delete), so two workers that extract the same story at the same moment cannot both
index it as canonical. The lock is global: decisions take milliseconds, and a story's cluster can
reach any document, so finer locks would have to be taken in a consistent order across clusters.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

from newscrawl.core.connections import ReentrantTransaction
from newscrawl.core.errors import StoreError
from newscrawl.core.redis_keys import DedupKeys
from workers.dedup import StoredDoc, decode_doc, encode_doc

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class _DecisionLock(ReentrantTransaction):
    """The global decision lock: SET NX with a token and an expiry, released by compare-and-delete."""

    def __init__(self, client: Any, key: str, *, timeout_s: float, ttl_ms: int) -> None:
        super().__init__()
        self._client = client
        self._key = key
        self._timeout_s = timeout_s
        self._ttl_ms = ttl_ms
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)

    def _begin(self) -> str:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self._timeout_s
        while not self._client.set(self._key, token, nx=True, px=self._ttl_ms):
            if time.monotonic() > deadline:
                raise StoreError("timed out waiting for the dedup lock")
            time.sleep(0.002)
        return token

    def _end(self, token: Any, *, ok: bool) -> None:
        self._release(keys=[self._key], args=[token])

    def renew(self) -> None:
        """Push the expiry back while this process still holds the lock (it waits out an index
        outage inside it); a lock that expired or went with Redis is not taken back."""
        if self._token is None:
            return
        # Redis itself away: the wait goes on, and what becomes of the lock is Redis's to say.
        with contextlib.suppress(StoreError):
            self._renew(keys=[self._key], args=[self._token, self._ttl_ms])


class RedisDedupStore:
    def __init__(self, client: Any, prefix: str, *, lock_timeout_s: float, lock_ttl_ms: int) -> None:
        self._redis = client
        self.keys = DedupKeys(prefix)
        self._lock = _DecisionLock(client, self.keys.lock, timeout_s=lock_timeout_s, ttl_ms=lock_ttl_ms)

    # Pipelines below are not MULTI/EXEC transactions: every write happens under the decision lock.

    def transaction(self) -> AbstractContextManager[None]:
        return self._lock

    def keep_alive(self) -> None:
        self._lock.renew()

    # --- documents --------------------------------------------------------------------------

    def get_doc(self, doc_id: str) -> StoredDoc | None:
        raw: dict[bytes, bytes] = self._redis.hgetall(self.keys.doc(doc_id))
        return decode_doc(doc_id, {k.decode(): v for k, v in raw.items()}) if raw else None

    def put_doc(self, doc: StoredDoc) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self.keys.doc(doc.doc_id), mapping=encode_doc(doc))
        pipe.sadd(self.keys.docs, doc.doc_id)
        if doc.duplicate_of:
            pipe.sadd(self.keys.duplicates, doc.doc_id)
        else:
            pipe.srem(self.keys.duplicates, doc.doc_id)
        pipe.execute()

    def add_alias(self, doc_id: str, url: str) -> bool:
        return bool(self._redis.sadd(self.keys.aliases(doc_id), url))

    def aliases(self, doc_id: str) -> list[str]:
        return sorted(m.decode() for m in self._redis.smembers(self.keys.aliases(doc_id)))

    # --- blocks -----------------------------------------------------------------------------

    def add_block_pages(self, host: str, blocks: Iterable[str], page_url: str) -> dict[str, int]:
        wanted = sorted(set(blocks))
        pipe = self._redis.pipeline(transaction=False)
        for block in wanted:
            pipe.sadd(self.keys.block_pages(host, block), page_url)
            pipe.scard(self.keys.block_pages(host, block))
        replies = pipe.execute()
        return {b: int(replies[2 * i + 1]) for i, b in enumerate(wanted) if replies[2 * i]}

    def mark_boilerplate(self, host: str, block: str) -> None:
        if self._redis.sadd(self.keys.boilerplate(host), block):
            self._redis.incr(self.keys.boilerplate_count)

    def boilerplate(self, host: str, blocks: Iterable[str]) -> set[str]:
        wanted = sorted(set(blocks))
        if not wanted:
            return set()
        flags = self._redis.smismember(self.keys.boilerplate(host), wanted)
        return {b for b, flag in zip(wanted, flags, strict=True) if flag}

    def add_headline(self, host: str, block: str, article_url: str) -> bool:
        key = self.keys.headlines(host, block)
        pipe = self._redis.pipeline(transaction=False)
        pipe.exists(key)
        pipe.sadd(key, article_url)
        existed, added = pipe.execute()
        if not existed:
            self._redis.incr(self.keys.headline_count)
        return bool(added)

    def headlines(self, host: str, blocks: Iterable[str]) -> dict[str, set[str]]:
        wanted = sorted(set(blocks))
        pipe = self._redis.pipeline(transaction=False)
        for block in wanted:
            pipe.smembers(self.keys.headlines(host, block))
        return {b: {m.decode() for m in urls} for b, urls in zip(wanted, pipe.execute(), strict=True) if urls}

    def set_doc_blocks(self, doc_id: str, host: str, blocks: Iterable[str]) -> None:
        new = set(blocks)
        old = {m.decode() for m in self._redis.smembers(self.keys.doc_blocks(doc_id))}
        pipe = self._redis.pipeline(transaction=False)
        for block in old - new:
            pipe.srem(self.keys.block_docs(block), doc_id)
            pipe.srem(self.keys.host_block_docs(host, block), doc_id)
        for block in new - old:
            pipe.sadd(self.keys.block_docs(block), doc_id)
            pipe.sadd(self.keys.host_block_docs(host, block), doc_id)
        pipe.delete(self.keys.doc_blocks(doc_id))
        if new:
            pipe.sadd(self.keys.doc_blocks(doc_id), *new)
        pipe.execute()

    def docs_with_block(self, host: str, block: str) -> list[str]:
        return sorted(m.decode() for m in self._redis.smembers(self.keys.host_block_docs(host, block)))

    def docs_with_blocks(self, blocks: Iterable[str]) -> dict[str, list[str]]:
        wanted = sorted(set(blocks))
        pipe = self._redis.pipeline(transaction=False)
        for block in wanted:
            pipe.smembers(self.keys.block_docs(block))
        return {
            b: sorted(m.decode() for m in docs)
            for b, docs in zip(wanted, pipe.execute(), strict=True)
            if docs
        }

    # --- fingerprints and links -------------------------------------------------------------

    def set_fingerprints(self, doc_id: str, content: str, bands: list[tuple[int, int]]) -> None:
        old: dict[bytes, bytes] = self._redis.hgetall(self.keys.doc_fingerprints(doc_id))
        pipe = self._redis.pipeline(transaction=False)
        if old:
            pipe.srem(self.keys.content(old[b"content"].decode()), doc_id)
            for item in json.loads(old[b"bands"]):
                pipe.srem(self.keys.band(item[0], item[1]), doc_id)
        pipe.sadd(self.keys.content(content), doc_id)
        for band, value in bands:
            pipe.sadd(self.keys.band(band, value), doc_id)
        pipe.hset(
            self.keys.doc_fingerprints(doc_id), mapping={"content": content, "bands": json.dumps(bands)}
        )
        pipe.execute()

    def docs_with_content(self, content: str) -> list[str]:
        return sorted(m.decode() for m in self._redis.smembers(self.keys.content(content)))

    def docs_in_bands(self, bands: list[tuple[int, int]]) -> list[str]:
        found = self._redis.sunion([self.keys.band(b, v) for b, v in bands])
        return sorted(m.decode() for m in found)

    def neighbours(self, doc_id: str) -> set[str]:
        return {m.decode() for m in self._redis.smembers(self.keys.edges(doc_id))}

    def set_neighbours(self, doc_id: str, neighbours: set[str]) -> None:
        old = self.neighbours(doc_id)
        pipe = self._redis.pipeline(transaction=False)
        for gone in old - neighbours:
            pipe.srem(self.keys.edges(doc_id), gone)
            pipe.srem(self.keys.edges(gone), doc_id)
        for new in neighbours - old:
            pipe.sadd(self.keys.edges(doc_id), new)
            pipe.sadd(self.keys.edges(new), doc_id)
        pipe.execute()

    def stats(self) -> dict[str, int]:
        docs = int(self._redis.scard(self.keys.docs))
        duplicates = int(self._redis.scard(self.keys.duplicates))
        aliases = sum(int(self._redis.scard(k)) for k in self._redis.scan_iter(self.keys.aliases("*")))
        return {
            "stories": docs - duplicates,
            "duplicates": duplicates,
            "url_aliases": aliases,
            "boilerplate_blocks": int(self._redis.get(self.keys.boilerplate_count) or 0),
            "teaser_headlines": int(self._redis.get(self.keys.headline_count) or 0),
        }

    def close(self) -> None:
        """The client belongs to the process's connection factory: nothing to close here."""
