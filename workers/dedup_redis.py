"""The distributed store of the deduplicator: Redis, shared by every worker.

Each decision runs under one lock (SET NX with a token and an expiry, released by a Lua
compare-and-delete), so two workers that extract the same story at the same moment cannot both
index it as canonical. The lock is global: decisions take milliseconds, and a story's cluster can
reach any document, so finer locks would have to be taken in a consistent order across clusters.
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from newscrawl.errors import StoreError
from newscrawl.redis_keys import DedupKeys
from workers.dedup import StoredDoc

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisDedupStore:
    def __init__(
        self, url: str, prefix: str, *, lock_timeout_s: float = 60.0, lock_ttl_ms: int = 30_000
    ) -> None:
        try:
            # redis-py types its sync client's replies as sync-or-async unions: Any is honest here.
            self._r: Any = redis.Redis.from_url(url)
            self._r.ping()
        except redis.RedisError as exc:
            raise StoreError(f"cannot reach Redis at {url}: {exc}") from exc
        self.k = DedupKeys(prefix)
        self._release = self._r.register_script(_RELEASE)
        self._lock_timeout_s = lock_timeout_s
        self._lock_ttl_ms = lock_ttl_ms
        self._depth = 0

    # Pipelines below are not MULTI/EXEC transactions: every write happens under the decision lock.

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self._lock_timeout_s
        while not self._r.set(self.k.lock, token, nx=True, px=self._lock_ttl_ms):
            if time.monotonic() > deadline:
                raise StoreError("timed out waiting for the dedup lock")
            time.sleep(0.002)
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            self._release(keys=[self.k.lock], args=[token])

    # --- documents --------------------------------------------------------------------------

    def get_doc(self, doc_id: str) -> StoredDoc | None:
        raw: dict[bytes, bytes] = self._r.hgetall(self.k.doc(doc_id))
        if not raw:
            return None
        f = {k.decode(): v for k, v in raw.items()}
        published = f["published_ts"].decode()
        duplicate = f["duplicate_of"].decode()
        hashes = f["block_hashes"].decode()
        return StoredDoc(
            doc_id=doc_id,
            url=f["url"].decode(),
            canonical_url=f["canonical_url"].decode(),
            host=f["host"].decode(),
            published_ts=float(published) if published else None,
            blocks=json.loads(zlib.decompress(f["blocks"])),
            block_hashes=hashes.split(",") if hashes else [],
            kept=json.loads(f["kept"]),
            content_hash=f["content_hash"].decode(),
            simhash=int(f["simhash"], 16),
            votes=int(f["votes"]),
            duplicate_of=duplicate or None,
            title=f["title"].decode(),
        )

    def put_doc(self, doc: StoredDoc) -> None:
        fields: dict[str, Any] = {
            "url": doc.url,
            "canonical_url": doc.canonical_url,
            "host": doc.host,
            "published_ts": "" if doc.published_ts is None else repr(doc.published_ts),
            "blocks": zlib.compress(json.dumps(doc.blocks, ensure_ascii=False).encode("utf-8"), 6),
            "block_hashes": ",".join(doc.block_hashes),
            "kept": json.dumps(doc.kept),
            "content_hash": doc.content_hash,
            "simhash": f"{doc.simhash:016x}",
            "votes": doc.votes,
            "duplicate_of": doc.duplicate_of or "",
            "title": doc.title,
        }
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(self.k.doc(doc.doc_id), mapping=fields)
        pipe.sadd(self.k.docs, doc.doc_id)
        if doc.duplicate_of:
            pipe.sadd(self.k.duplicates, doc.doc_id)
        else:
            pipe.srem(self.k.duplicates, doc.doc_id)
        pipe.execute()

    def add_alias(self, doc_id: str, url: str) -> bool:
        return bool(self._r.sadd(self.k.aliases(doc_id), url))

    def aliases(self, doc_id: str) -> list[str]:
        return sorted(m.decode() for m in self._r.smembers(self.k.aliases(doc_id)))

    # --- blocks -----------------------------------------------------------------------------

    def add_block_pages(self, host: str, blocks: Iterable[str], page_url: str) -> dict[str, int]:
        wanted = sorted(set(blocks))
        pipe = self._r.pipeline(transaction=False)
        for block in wanted:
            pipe.sadd(self.k.block_pages(host, block), page_url)
            pipe.scard(self.k.block_pages(host, block))
        replies = pipe.execute()
        return {b: int(replies[2 * i + 1]) for i, b in enumerate(wanted) if replies[2 * i]}

    def mark_boilerplate(self, host: str, block: str) -> None:
        if self._r.sadd(self.k.boilerplate(host), block):
            self._r.incr(self.k.boilerplate_count)

    def boilerplate(self, host: str, blocks: Iterable[str]) -> set[str]:
        wanted = sorted(set(blocks))
        if not wanted:
            return set()
        flags = self._r.smismember(self.k.boilerplate(host), wanted)
        return {b for b, flag in zip(wanted, flags, strict=True) if flag}

    def add_headline(self, host: str, block: str, article_url: str) -> bool:
        key = self.k.headlines(host, block)
        pipe = self._r.pipeline(transaction=False)
        pipe.exists(key)
        pipe.sadd(key, article_url)
        existed, added = pipe.execute()
        if not existed:
            self._r.incr(self.k.headline_count)
        return bool(added)

    def headlines(self, host: str, blocks: Iterable[str]) -> dict[str, set[str]]:
        wanted = sorted(set(blocks))
        pipe = self._r.pipeline(transaction=False)
        for block in wanted:
            pipe.smembers(self.k.headlines(host, block))
        return {b: {m.decode() for m in urls} for b, urls in zip(wanted, pipe.execute(), strict=True) if urls}

    def set_doc_blocks(self, doc_id: str, host: str, blocks: Iterable[str]) -> None:
        new = set(blocks)
        old = {m.decode() for m in self._r.smembers(self.k.doc_blocks(doc_id))}
        pipe = self._r.pipeline(transaction=False)
        for block in old - new:
            pipe.srem(self.k.block_docs(block), doc_id)
            pipe.srem(self.k.host_block_docs(host, block), doc_id)
        for block in new - old:
            pipe.sadd(self.k.block_docs(block), doc_id)
            pipe.sadd(self.k.host_block_docs(host, block), doc_id)
        pipe.delete(self.k.doc_blocks(doc_id))
        if new:
            pipe.sadd(self.k.doc_blocks(doc_id), *new)
        pipe.execute()

    def docs_with_block(self, host: str, block: str) -> list[str]:
        return sorted(m.decode() for m in self._r.smembers(self.k.host_block_docs(host, block)))

    def docs_with_blocks(self, blocks: Iterable[str]) -> dict[str, list[str]]:
        wanted = sorted(set(blocks))
        pipe = self._r.pipeline(transaction=False)
        for block in wanted:
            pipe.smembers(self.k.block_docs(block))
        return {
            b: sorted(m.decode() for m in docs)
            for b, docs in zip(wanted, pipe.execute(), strict=True)
            if docs
        }

    # --- fingerprints and links -------------------------------------------------------------

    def set_fingerprints(self, doc_id: str, content: str, bands: list[tuple[int, int]]) -> None:
        old: dict[bytes, bytes] = self._r.hgetall(self.k.doc_fingerprints(doc_id))
        pipe = self._r.pipeline(transaction=False)
        if old:
            pipe.srem(self.k.content(old[b"content"].decode()), doc_id)
            for item in json.loads(old[b"bands"]):
                pipe.srem(self.k.band(item[0], item[1]), doc_id)
        pipe.sadd(self.k.content(content), doc_id)
        for band, value in bands:
            pipe.sadd(self.k.band(band, value), doc_id)
        pipe.hset(self.k.doc_fingerprints(doc_id), mapping={"content": content, "bands": json.dumps(bands)})
        pipe.execute()

    def docs_with_content(self, content: str) -> list[str]:
        return sorted(m.decode() for m in self._r.smembers(self.k.content(content)))

    def docs_in_bands(self, bands: list[tuple[int, int]]) -> list[str]:
        found = self._r.sunion([self.k.band(b, v) for b, v in bands])
        return sorted(m.decode() for m in found)

    def neighbours(self, doc_id: str) -> set[str]:
        return {m.decode() for m in self._r.smembers(self.k.edges(doc_id))}

    def set_neighbours(self, doc_id: str, neighbours: set[str]) -> None:
        old = self.neighbours(doc_id)
        pipe = self._r.pipeline(transaction=False)
        for gone in old - neighbours:
            pipe.srem(self.k.edges(doc_id), gone)
            pipe.srem(self.k.edges(gone), doc_id)
        for new in neighbours - old:
            pipe.sadd(self.k.edges(doc_id), new)
            pipe.sadd(self.k.edges(new), doc_id)
        pipe.execute()

    def stats(self) -> dict[str, int]:
        docs = int(self._r.scard(self.k.docs))
        duplicates = int(self._r.scard(self.k.duplicates))
        aliases = sum(int(self._r.scard(k)) for k in self._r.scan_iter(self.k.aliases("*")))
        return {
            "stories": docs - duplicates,
            "duplicates": duplicates,
            "url_aliases": aliases,
            "boilerplate_blocks": int(self._r.get(self.k.boilerplate_count) or 0),
            "teaser_headlines": int(self._r.get(self.k.headline_count) or 0),
        }

    def close(self) -> None:
        self._r.close()
