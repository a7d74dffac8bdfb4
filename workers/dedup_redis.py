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
# KEYS: the sweep's index of count keys, then one ZSET per block; ARGV: page URL hash, now, since,
# cap. Per block: whether the page was added, and the block's page count now. Most blocks are
# new (a story's own paragraphs): one ZADD each, and one into the index, which only a new key
# enters (the sweep checks a key's newest member before it deletes it).
_ADD_BLOCK_PAGES = """
local index, page, now, since, cap = KEYS[1], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local out = {}
for i = 2, #KEYS do
  local key = KEYS[i]
  local count = redis.call('ZCARD', key)
  local added = 0
  if count == 0 then
    redis.call('ZADD', key, now, page)
    redis.call('ZADD', index, now, key)
    added, count = 1, 1
  else
    count = count - redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. since)
    if redis.call('ZSCORE', key, page) then
      redis.call('ZADD', key, now, page)
    elseif count < cap then
      added = redis.call('ZADD', key, now, page)
      count = count + added
      if count == 1 then redis.call('ZADD', index, now, key) end
    end
  end
  out[#out + 1] = added
  out[#out + 1] = count
end
return out
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class _DecisionLock(ReentrantTransaction):
    """The global decision lock: SET NX with a token and an expiry, released by compare-and-delete.

    The writes a decision makes wait in ``writes`` until its next read or the end of the step
    that made them (``process``, ``observe_listing``: the transactions nested in the lock), and
    go in the same round trip as that read or the release: under the lock nobody else reads
    them first. A step that fails sends none of its waiting writes.

    ``known`` holds what this holder read ahead (a document's aliases, blocks and fingerprints,
    read with the document) and what it wrote there since: under the lock only it changes them.
    """

    def __init__(self, client: Any, key: str, *, timeout_s: float, ttl_ms: int) -> None:
        super().__init__()
        self._client = client
        self._key = key
        self._timeout_s = timeout_s
        self._ttl_ms = ttl_ms
        self._renew = client.register_script(_RENEW)
        self.writes: Any = None  # the pipeline of writes not yet sent, while the lock is held
        self.known: dict[str, Any] = {}  # Redis key -> its value, while the lock is held

    @property
    def held(self) -> bool:
        return self._token is not None

    def flush(self) -> None:
        pipe, self.writes = self.writes, None
        if pipe is not None:
            pipe.execute()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.writes = None
            self.known = {}
        elif self._depth > 1:
            self.flush()  # a step ends: its writes reach Redis before the lock's holder goes on
        super().__exit__(exc_type, exc, tb)

    def _begin(self) -> str:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self._timeout_s
        while not self._client.set(self._key, token, nx=True, px=self._ttl_ms):
            if time.monotonic() > deadline:
                raise StoreError("timed out waiting for the dedup lock")
            time.sleep(0.002)
        return token

    def _end(self, token: Any, *, ok: bool) -> None:
        self.known = {}
        pipe, self.writes = self.writes, None
        if pipe is None:
            pipe = self._client.pipeline(transaction=False)
        # EVAL, not EVALSHA: a pipeline would first ask whether the script is loaded.
        pipe.eval(_RELEASE, 1, self._key, token)
        pipe.execute()

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
        self._add_block_pages = client.register_script(_ADD_BLOCK_PAGES)
        self._upgraded = False

    def _upgrade(self, now: float) -> None:
        """A store from before the window (layout 1): its documents start the window now, its
        block counts and teaser headlines (sets without times) go. Once, by whichever process
        gets here first; others meanwhile use the new keys only, which it does not touch."""
        if not self._redis.set(self.keys.version, "2", nx=True):
            return
        legacy = (self.keys.docs, self.keys.headline_count, self.keys.boilerplate_count)
        if not self._redis.exists(*legacy):
            return  # a new store: nothing to scan the keyspace for
        batch: list[str] = []
        for member in self._redis.sscan_iter(self.keys.docs, count=500):
            batch.append(member.decode() if isinstance(member, bytes) else member)
            if len(batch) >= 500:
                self._redis.zadd(self.keys.seen, dict.fromkeys(batch, now), nx=True)
                batch.clear()
        if batch:
            self._redis.zadd(self.keys.seen, dict.fromkeys(batch, now), nx=True)
        for pattern in (self.keys.legacy_block_pages("*", "*"), self.keys.legacy_headlines("*", "*")):
            doomed: list[bytes] = []
            for key in self._redis.scan_iter(match=pattern, count=1000):
                doomed.append(key)
                if len(doomed) >= 500:
                    self._redis.delete(*doomed)
                    doomed.clear()
            if doomed:
                self._redis.delete(*doomed)

    # Pipelines below are not MULTI/EXEC transactions: every write happens under the decision lock.

    def _writes(self) -> Any:
        """Where a write goes: the decision's waiting writes while the lock is held (sent with
        the next read or the release), else a pipeline that :meth:`_send` sends at once."""
        if self._lock.held:
            if self._lock.writes is None:
                self._lock.writes = self._redis.pipeline(transaction=False)
            return self._lock.writes
        return self._redis.pipeline(transaction=False)

    def _send(self, pipe: Any) -> None:
        if pipe is not self._lock.writes:
            pipe.execute()

    def _reads(self) -> tuple[Any, int]:
        """A pipeline for reads, holding the waiting writes first, and how many replies are theirs."""
        pipe, self._lock.writes = self._lock.writes, None
        if pipe is None:
            return self._redis.pipeline(transaction=False), 0
        return pipe, len(pipe.command_stack)

    def _read(self, command: str, *args: Any) -> Any:
        """One read command, after the waiting writes (in the same round trip)."""
        if self._lock.writes is None:
            return getattr(self._redis, command)(*args)
        pipe, skip = self._reads()
        getattr(pipe, command)(*args)
        return pipe.execute()[skip]

    def _known_read(self, command: str, key: str) -> Any:
        """``command`` on ``key``, or what this lock's holder already knows of it."""
        if key in self._lock.known:
            return self._lock.known[key]
        return self._read(command, key)

    def _know(self, key: str, value: Any) -> None:
        if self._lock.held:
            self._lock.known[key] = value

    def _read_each(self, command: str, keys: list[str]) -> list[Any]:
        """One read command per key, after the waiting writes, all in one round trip."""
        pipe, skip = self._reads()
        for key in keys:
            getattr(pipe, command)(key)
        return pipe.execute()[skip:] if keys or skip else []

    def _flush(self) -> None:
        self._lock.flush()

    def transaction(self) -> AbstractContextManager[None]:
        if not self._upgraded:
            # Before the lock, not under it: on a large store the scans outlast its expiry.
            self._upgrade(time.time())
            self._upgraded = True
        return self._lock

    def keep_alive(self) -> None:
        self._lock.renew()

    # --- documents --------------------------------------------------------------------------

    def get_doc(self, doc_id: str) -> StoredDoc | None:
        if not self._lock.held:
            raw: dict[bytes, bytes] = self._read("hgetall", self.keys.doc(doc_id))
        else:
            # What a decision on the document reads next comes in the same round trip.
            ahead = [
                self.keys.aliases(doc_id),
                self.keys.doc_blocks(doc_id),
                self.keys.doc_fingerprints(doc_id),
            ]
            pipe, skip = self._reads()
            pipe.hgetall(self.keys.doc(doc_id))
            pipe.smembers(ahead[0])
            pipe.smembers(ahead[1])
            pipe.hgetall(ahead[2])
            raw, *values = pipe.execute()[skip:]
            self._lock.known.update(zip(ahead, values, strict=True))
        return decode_doc(doc_id, {k.decode(): v for k, v in raw.items()}) if raw else None

    def get_docs(self, doc_ids: Iterable[str]) -> list[StoredDoc]:
        ids = list(doc_ids)
        replies = self._read_each("hgetall", [self.keys.doc(d) for d in ids])
        return [
            decode_doc(doc_id, {k.decode(): v for k, v in raw.items()})
            for doc_id, raw in zip(ids, replies, strict=True)
            if raw
        ]

    def put_doc(self, doc: StoredDoc) -> None:
        pipe = self._writes()
        pipe.hset(self.keys.doc(doc.doc_id), mapping=encode_doc(doc))
        pipe.sadd(self.keys.docs, doc.doc_id)
        if doc.duplicate_of:
            pipe.sadd(self.keys.duplicates, doc.doc_id)
        else:
            pipe.srem(self.keys.duplicates, doc.doc_id)
        self._send(pipe)

    def add_alias(self, doc_id: str, url: str) -> bool:
        self._lock.known.pop(self.keys.aliases(doc_id), None)
        return bool(self._read("sadd", self.keys.aliases(doc_id), url))

    def aliases_of(self, doc_ids: Iterable[str]) -> dict[str, list[str]]:
        keys = {d: self.keys.aliases(d) for d in doc_ids}
        unknown = [d for d, key in keys.items() if key not in self._lock.known]
        read = dict(zip(unknown, self._read_each("smembers", [keys[d] for d in unknown]), strict=True))
        return {
            d: sorted(m.decode() for m in (read[d] if d in read else self._lock.known[key]))
            for d, key in keys.items()
        }

    def aliases(self, doc_id: str) -> list[str]:
        return sorted(m.decode() for m in self._known_read("smembers", self.keys.aliases(doc_id)))

    # --- blocks -----------------------------------------------------------------------------

    def add_block_pages(
        self, host: str, blocks: Iterable[str], page_url: str, *, now: float, since: float, cap: int
    ) -> dict[str, int]:
        wanted = sorted(set(blocks))
        if not wanted:
            return {}
        keys = [self.keys.counts_seen, *(self.keys.block_pages(host, b) for b in wanted)]
        self._flush()
        replies = self._add_block_pages(keys=keys, args=[page_url, repr(now), repr(since), cap])
        return {b: int(replies[2 * i + 1]) for i, b in enumerate(wanted) if replies[2 * i]}

    def forget_stale_counts(self, before: float, limit: int) -> int:
        self._flush()
        keys = self._redis.zrangebyscore(self.keys.counts_seen, "-inf", f"({before!r}", start=0, num=limit)
        if not keys:
            return 0
        # The index holds when a key was made; its newest member says when it was last written.
        read = self._redis.pipeline(transaction=False)
        for key in keys:
            read.zrange(key, -1, -1, withscores=True)
        stale, alive = [], {}
        for key, newest in zip(keys, read.execute(), strict=True):
            if newest and newest[0][1] >= before:
                alive[key] = newest[0][1]
            else:
                stale.append(key)
        write = self._redis.pipeline(transaction=False)
        if stale:
            write.delete(*stale)
            write.zrem(self.keys.counts_seen, *stale)
        if alive:
            write.zadd(self.keys.counts_seen, alive)
        write.execute()
        return len(stale)

    def mark_boilerplate(self, host: str, block: str) -> None:
        if self._read("sadd", self.keys.boilerplate(host), block):
            self._redis.incr(self.keys.boilerplate_count)

    def block_status(
        self, host: str, blocks: Iterable[str], since: float
    ) -> tuple[set[str], dict[str, set[str]]]:
        wanted = sorted(set(blocks))
        if not wanted:
            return set(), {}
        pipe, skip = self._reads()
        pipe.smismember(self.keys.boilerplate(host), wanted)
        for block in wanted:
            pipe.zrangebyscore(self.keys.headlines(host, block), repr(since), "+inf")
        flags, *teased = pipe.execute()[skip:]
        boilerplate = {b for b, flag in zip(wanted, flags, strict=True) if flag}
        articles = {b: {m.decode() for m in urls} for b, urls in zip(wanted, teased, strict=True) if urls}
        return boilerplate, articles

    def add_headlines(self, host: str, teased: list[tuple[str, str]], now: float) -> set[str]:
        pipe, skip = self._reads()
        for block, article_url in teased:
            key = self.keys.headlines(host, block)
            pipe.exists(key)
            pipe.zadd(key, {article_url: now})
            pipe.zadd(self.keys.counts_seen, {key: now})
        replies = pipe.execute()[skip:]
        gained = {block for i, (block, _) in enumerate(teased) if replies[3 * i + 1]}
        # A key that did not exist before its first pair (a later pair of the same block in
        # this batch found it): the headlines seen for the first time.
        first = {block for i, (block, _) in enumerate(teased) if not replies[3 * i]}
        if first:
            pipe = self._writes()
            pipe.incrby(self.keys.headline_count, len(first))
            self._send(pipe)
        return gained

    def set_doc_blocks(self, doc_id: str, host: str, blocks: Iterable[str]) -> None:
        new = set(blocks)
        old = {m.decode() for m in self._known_read("smembers", self.keys.doc_blocks(doc_id))}
        pipe = self._writes()
        for block in old - new:
            pipe.srem(self.keys.block_docs(block), doc_id)
            pipe.srem(self.keys.host_block_docs(host, block), doc_id)
        for block in new - old:
            pipe.sadd(self.keys.block_docs(block), doc_id)
            pipe.sadd(self.keys.host_block_docs(host, block), doc_id)
        pipe.delete(self.keys.doc_blocks(doc_id))
        if new:
            pipe.sadd(self.keys.doc_blocks(doc_id), *new)
        self._send(pipe)
        self._know(self.keys.doc_blocks(doc_id), {b.encode() for b in new})

    def docs_with_host_blocks(self, host: str, blocks: Iterable[str]) -> set[str]:
        keys = [self.keys.host_block_docs(host, b) for b in sorted(set(blocks))]
        return {m.decode() for m in self._read("sunion", keys)} if keys else set()

    # --- fingerprints and links -------------------------------------------------------------

    def set_fingerprints(self, doc_id: str, content: str, bands: list[tuple[int, int]]) -> None:
        old: dict[bytes, bytes] = self._known_read("hgetall", self.keys.doc_fingerprints(doc_id))
        pipe = self._writes()
        if old:
            pipe.srem(self.keys.content(old[b"content"].decode()), doc_id)
            for item in json.loads(old[b"bands"]):
                pipe.srem(self.keys.band(item[0], item[1]), doc_id)
        pipe.sadd(self.keys.content(content), doc_id)
        for band, value in bands:
            pipe.sadd(self.keys.band(band, value), doc_id)
        stored = {"content": content, "bands": json.dumps(bands)}
        pipe.hset(self.keys.doc_fingerprints(doc_id), mapping=stored)
        self._send(pipe)
        self._know(self.keys.doc_fingerprints(doc_id), {k.encode(): v.encode() for k, v in stored.items()})

    def candidates(
        self, content: str, bands: list[tuple[int, int]], blocks: Iterable[str]
    ) -> tuple[set[str], dict[str, set[str]]]:
        wanted = sorted(set(blocks))
        pipe, skip = self._reads()
        pipe.sunion([self.keys.content(content), *(self.keys.band(b, v) for b, v in bands)])
        for block in wanted:
            pipe.smembers(self.keys.block_docs(block))
        found, *holders = pipe.execute()[skip:]
        return {m.decode() for m in found}, {
            b: {m.decode() for m in docs} for b, docs in zip(wanted, holders, strict=True) if docs
        }

    # --- the window ---------------------------------------------------------------------------

    def touch_docs(self, doc_ids: Iterable[str], now: float) -> None:
        mapping = dict.fromkeys(doc_ids, now)
        if mapping:
            pipe = self._writes()
            pipe.zadd(self.keys.seen, mapping)
            self._send(pipe)

    def seen_at(self, doc_ids: Iterable[str]) -> dict[str, float]:
        wanted = sorted(set(doc_ids))
        if not wanted:
            return {}
        scores = self._read("zmscore", self.keys.seen, wanted)
        return {d: float(s) for d, s in zip(wanted, scores, strict=True) if s is not None}

    def expired_docs(self, before: float, limit: int) -> list[str]:
        self._flush()
        found = self._redis.zrangebyscore(self.keys.seen, "-inf", f"({before!r}", start=0, num=limit)
        return [m.decode() for m in found]

    def forget_docs(self, doc_ids: Iterable[str]) -> None:
        ids = sorted(set(doc_ids))
        if not ids:
            return
        for doc_id in ids:
            for key in (
                self.keys.aliases(doc_id),
                self.keys.doc_blocks(doc_id),
                self.keys.doc_fingerprints(doc_id),
            ):
                self._lock.known.pop(key, None)
        read, skip = self._reads()
        for doc_id in ids:
            read.smembers(self.keys.doc_blocks(doc_id))
            read.hgetall(self.keys.doc_fingerprints(doc_id))
            read.hget(self.keys.doc(doc_id), "host")
            read.smembers(self.keys.edges(doc_id))
        replies = read.execute()[skip:]
        write = self._writes()
        for i, doc_id in enumerate(ids):
            blocks, fingerprints, host, edges = replies[4 * i : 4 * i + 4]
            for block in (b.decode() for b in blocks):
                write.srem(self.keys.block_docs(block), doc_id)
                if host:
                    write.srem(self.keys.host_block_docs(host.decode(), block), doc_id)
            if fingerprints:
                write.srem(self.keys.content(fingerprints[b"content"].decode()), doc_id)
                for band, value in json.loads(fingerprints[b"bands"]):
                    write.srem(self.keys.band(band, value), doc_id)
            for other in (e.decode() for e in edges):
                write.srem(self.keys.edges(other), doc_id)
            write.delete(
                self.keys.doc(doc_id),
                self.keys.aliases(doc_id),
                self.keys.doc_blocks(doc_id),
                self.keys.doc_fingerprints(doc_id),
                self.keys.edges(doc_id),
            )
        write.srem(self.keys.docs, *ids)
        write.srem(self.keys.duplicates, *ids)
        write.zrem(self.keys.seen, *ids)
        self._send(write)

    def neighbours_of(self, doc_ids: Iterable[str]) -> dict[str, set[str]]:
        ids = list(doc_ids)
        replies = self._read_each("smembers", [self.keys.edges(d) for d in ids])
        return {d: {m.decode() for m in found} for d, found in zip(ids, replies, strict=True)}

    def neighbours(self, doc_id: str) -> set[str]:
        return {m.decode() for m in self._read("smembers", self.keys.edges(doc_id))}

    def set_neighbours(self, doc_id: str, neighbours: set[str], previous: set[str]) -> None:
        old = previous
        pipe = self._writes()
        for gone in old - neighbours:
            pipe.srem(self.keys.edges(doc_id), gone)
            pipe.srem(self.keys.edges(gone), doc_id)
        for new in neighbours - old:
            pipe.sadd(self.keys.edges(doc_id), new)
            pipe.sadd(self.keys.edges(new), doc_id)
        self._send(pipe)

    def stats(self) -> dict[str, int]:
        self._flush()
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
