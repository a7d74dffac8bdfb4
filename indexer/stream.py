"""The durable hand-off from workers to the search engine: a Redis stream.

Workers append each finished document (and each later correction of one) to the stream and go
on; they never wait for the cluster. ``newscrawl indexer`` processes, in a consumer group, read it
in chunks bounded by count and bytes, load them with the client's bulk helper and acknowledge an
entry only once the engine confirmed it:

- 429, 5xx and no answer: the chunk is retried with exponential back-off, and nothing new is read
  meanwhile (back-pressure: an indexer holds at most one chunk, whatever the outage's length);
- a document the engine refuses (a mapping error): it goes to the dead-letter stream with the
  reason, and the rest of its chunk is indexed;
- one document's entries are applied in the order the workers wrote them, whichever indexers
  hold them: an entry waits while an earlier one of its document is held elsewhere (a slow node
  delays one indexer's request, a dead indexer's entries await their claim), and a document's
  later entries go again after an earlier one that failed (``lua/start_bulk.lua``);
- an update of a document that is not in the index (its index operation was dead-lettered):
  retried a few times, then dead-lettered;
- entries a dead indexer held are taken over after ``index.claim_idle_s``; its own entries are
  re-read first when it restarts under the same name;
- ``newscrawl index reindex`` pauses the indexers (:func:`indexing_paused`): no bulk request
  starts while it copies, and it copies once none is in flight, so no write lands in the old
  index after the copy read it; the stream holds what the workers write meanwhile;
- the index itself gone (a wiped or rebuilt cluster, an index deleted by hand): writes name the
  write alias and require it to be one, so the engine refuses them instead of creating a plain
  index of that name with guessed mappings; the indexer makes the template, index and aliases
  again and loads on. What the lost index held is not in the stream any more: crawl it again or
  ``newscrawl reprocess`` the archive.

Ids derive from the canonical URL, so loading an entry twice changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from indexer.engine import (
    IndexAdmin,
    engine_error,
    make_client,
    no_answer_errors,
    write_alias_of,
)
from newscrawl.core import metrics
from newscrawl.core.document import Document
from newscrawl.core.errors import SearchEngineError, StoreError
from newscrawl.core.log import get_logger
from newscrawl.core.outage import Outage
from newscrawl.core.redis_connections import new_async_redis_client, new_redis_client
from newscrawl.core.redis_keys import IndexKeys
from newscrawl.core.settings import Settings

log = get_logger("newscrawl.indexer")

# Refusals that no retry can fix: the document does not fit the mapping.
_PERMANENT = frozenset({400})
# The longest wait between questions to a cluster that has not answered yet at start-up.
_START_WAIT_MAX_S = 5.0
# What the engine answers a write to a write alias that no longer exists (``require_alias``).
_INDEX_MISSING = "index_not_found_exception"


_LUA = resources.files("indexer") / "lua"


def _script(name: str) -> str:
    return (_LUA / "helpers.lua").read_text("utf-8") + (_LUA / f"{name}.lua").read_text("utf-8")


class StreamWriter:
    """The workers' side: one script per operation (the stream entry, noted under its document)."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._redis = client
        self.keys = IndexKeys(prefix)
        self._write = client.register_script(_script("write"))

    def index(self, document: Document, *, again: bool = False) -> None:
        """``again``: a page indexed before, fetched again: written as a partial update that
        keeps the indexed ``first_seen_at`` (the whole document if none is indexed)."""
        payload = json.dumps(document.to_dict(), ensure_ascii=False)
        self._append("refresh" if again else "index", document.id, payload)

    def update(self, doc_id: str, fields: dict[str, Any]) -> None:
        self._append("update", doc_id, json.dumps(fields, ensure_ascii=False, default=str))

    def _append(self, op: str, doc_id: str, payload: str) -> None:
        self._write(keys=[self.keys.stream, self.keys.held], args=[op, doc_id, payload])

    def close(self) -> None:
        """The client belongs to the process's connection factory: nothing to close here."""


@dataclass
class Entry:
    entry_id: str
    op: str
    doc_id: str
    payload: str
    attempts: int = 0

    def action(self, index: str) -> dict[str, Any]:
        if self.op == "update":
            return {
                "_op_type": "update",
                "_index": index,
                "_id": self.doc_id,
                "doc": json.loads(self.payload),
            }
        if self.op == "refresh":
            # The stored document's first sighting stands; a missing one is written whole.
            source = json.loads(self.payload)
            changed = {k: v for k, v in source.items() if k != "first_seen_at"}
            return {
                "_op_type": "update",
                "_index": index,
                "_id": self.doc_id,
                "doc": changed,
                "upsert": source,
            }
        return {"_op_type": "index", "_index": index, "_id": self.doc_id, "_source": json.loads(self.payload)}


@dataclass
class Outcome:
    ok: bool
    status: int
    reason: str = ""


@dataclass
class IndexerStats:
    indexed: int = 0
    updated: int = 0
    dead_lettered: int = 0
    retries: int = 0
    bulk_calls: int = 0
    claimed: int = 0
    waited: int = 0  # times an entry waited for an earlier one of its document
    taken_over: int = 0  # entries another indexer claimed while this one backed off: not sent here
    started_at: float = field(default_factory=time.monotonic)


# Redis's answer to a read of a consumer group that no longer exists.
_GROUP_LOST = "NOGROUP"

# What lua/start_bulk.lua says of each entry.
_GOES, _WAITS = 1, 0

# Beyond the requests' timeouts: the bulk helper's own work around them.
_BULK_MARGIN_S = 5.0
# How long a reindex's pause outlives the process that set it (renewed while it runs).
_PAUSE_TTL_S = 30


@contextlib.contextmanager
def indexing_paused(settings: Settings) -> Iterator[None]:
    """The indexers start no bulk request while the body runs, and none is in flight when it
    starts (an indexer that died mid-request is waited for until its request's deadline). The
    pause is renewed while the body runs and lapses within ``_PAUSE_TTL_S`` if this process dies."""
    client = new_redis_client(settings.redis_url)
    keys = IndexKeys(settings.redis_prefix)
    done = threading.Event()

    def renew() -> None:
        while not done.wait(_PAUSE_TTL_S / 3):
            try:
                client.set(keys.paused, "reindex", ex=_PAUSE_TTL_S)
            except StoreError as exc:  # the copy goes on; the indexers wait on Redis too
                log.warning("pause_not_renewed", error=exc.message)

    client.set(keys.paused, "reindex", ex=_PAUSE_TTL_S)
    renewer = threading.Thread(target=renew, name="newscrawl-pause", daemon=True)
    renewer.start()
    try:
        while True:
            seconds, microseconds = client.time()
            client.zremrangebyscore(keys.bulks, "-inf", seconds + microseconds / 1e6)
            in_flight = int(client.zcard(keys.bulks))
            if not in_flight:
                break
            log.info("waiting_for_bulk_requests", indexers=in_flight)
            time.sleep(0.1)
        log.info("indexing_paused")
        yield
    finally:
        done.set()
        renewer.join(timeout=5)
        client.delete(keys.paused)
        client.close()
        log.info("indexing_resumed")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _stream_order(entry: Entry) -> tuple[int, ...]:
    return tuple(int(part) for part in entry.entry_id.split("-"))


def _entry(entry_id: Any, fields: dict[Any, Any]) -> Entry:
    f = {_text(k): _text(v) for k, v in fields.items()}
    return Entry(_text(entry_id), f.get("op", "index"), f.get("id", ""), f.get("payload", "{}"))


class StreamIndexer:
    def __init__(self, settings: Settings, consumer: str) -> None:
        self.settings = settings
        self.index_settings = settings.index
        self.consumer = consumer
        self.keys = IndexKeys(settings.redis_prefix)
        self.redis: Any = new_async_redis_client(settings.redis_url)
        # Both known once the cluster has answered (setup): it may not be up when we start.
        self.flavor = ""
        self.client: Any = None
        self.write_alias = write_alias_of(settings.index.name)
        self.stats = IndexerStats()
        self.outage = Outage("redis", limit_s=settings.store_outage_limit_s)
        self._stop = asyncio.Event()
        self._last_claim = 0.0
        self._own_pending_from: str | None = "0"  # where to read this consumer's own pending entries
        self._group_ready = False
        self._start_bulk = self.redis.register_script(_script("start_bulk"))
        self._settle_entries = self.redis.register_script(_script("settle"))
        # Entries read but not applied: an earlier entry of their document is held elsewhere.
        self._waiting: list[Entry] = []

    def stop(self) -> None:
        self._stop.set()

    async def setup(self) -> None:
        # The template and the aliases first: writes require the write alias to exist.
        await self._init_index()
        if not self._stop.is_set():
            await self._ensure_group()

    async def _init_index(self) -> dict[str, Any]:
        """The template, index and aliases, made where missing; a cluster that is down (or not up
        yet: processes start in any order) is waited for, until the indexer is stopped."""
        failures = 0
        while not self._stop.is_set():
            admin: IndexAdmin | None = None
            try:
                admin = await asyncio.to_thread(IndexAdmin, self.settings)
                made = await asyncio.to_thread(admin.init)
                if self.client is None:
                    self.flavor = admin.client.flavor
                    self.client = make_client(self.index_settings, self.flavor, asynchronous=True)
                return made
            except SearchEngineError as exc:
                # A cluster that is down at start-up is waited for, like one that goes down later.
                if not exc.transient:
                    raise
                failures += 1
                # Asking an absent cluster costs nothing; loading should start soon after it is up.
                wait_max_s = min(self.index_settings.retry_max_s, _START_WAIT_MAX_S)
                wait = min(self.index_settings.retry_base_s * 2 ** (failures - 1), wait_max_s)
                log.warning("engine_unavailable", error=exc.message, wait_s=wait)
                await self._pause(wait)
            finally:
                if admin is not None:
                    admin.client.close()
        return {}

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.keys.stream, self.keys.group, id="0", mkstream=True)
        except StoreError as exc:
            if "BUSYGROUP" not in exc.message:
                raise
        self._group_ready = True

    async def _set_up(self) -> None:
        """``setup`` through an outage of Redis, until it succeeds or the indexer is stopped."""
        while not self._stop.is_set():
            try:
                await self.setup()
            except StoreError as exc:
                await self._pause(self.outage.failed(exc))
                continue
            self.outage.recovered()
            return

    async def run(self, *, until_drained: bool = False) -> IndexerStats:
        """Load until stopped (SIGTERM: also while still waiting for Redis or the cluster)."""
        try:
            await self._set_up()
            while not self._stop.is_set():
                try:
                    if not self._group_ready:
                        await self._ensure_group()
                    entries = await self._next_entries()
                    if entries:
                        await self._load(entries)
                    elif until_drained and await self._drained():
                        break
                except StoreError as exc:
                    # Redis went away: what this consumer read and did not acknowledge stays
                    # pending in the stream and is read again first once Redis is back.
                    self._own_pending_from = "0"
                    if _GROUP_LOST in exc.message:
                        # Redis came back without its data (run without persistence): what the
                        # workers write from now on goes to a new stream, read from its start.
                        log.warning("stream_group_lost", error=exc.message)
                        self._group_ready = False
                        continue
                    await self._pause(self.outage.failed(exc))
                    continue
                self.outage.recovered()
        finally:
            if self.client is not None:
                await self.client.close()
            await self.redis.aclose()
        return self.stats

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _drained(self) -> bool:
        pending = await self.redis.xpending(self.keys.stream, self.keys.group)
        if pending["pending"]:
            return False
        groups = await self.redis.xinfo_groups(self.keys.stream)
        mine = [g for g in groups if _text(g["name"]) == self.keys.group]
        return not mine or int(mine[0].get("lag") or 0) == 0

    async def _next_entries(self) -> list[Entry]:
        """The entries that waited last time, with what there is to read (a copy read again
        replaces its first reading), in stream order."""
        waiting, self._waiting = self._waiting, []
        entries = {e.entry_id: e for e in waiting}
        entries.update((e.entry_id, e) for e in await self._read(len(entries)))
        return sorted(entries.values(), key=_stream_order)

    async def _read(self, waiting: int) -> list[Entry]:
        count = max(1, self.index_settings.bulk_max_docs - waiting)
        if self._own_pending_from is not None:
            # After a crash: what this consumer had read but not acknowledged comes first, once
            # (some of it may wait for earlier entries held elsewhere for a while).
            reply = await self.redis.xreadgroup(
                self.keys.group, self.consumer, {self.keys.stream: self._own_pending_from}, count=count
            )
            entries = [_entry(i, f) for _, items in reply for i, f in items if f]
            if entries:
                self._own_pending_from = entries[-1].entry_id
                return entries
            self._own_pending_from = None
        if time.monotonic() - self._last_claim > self.index_settings.claim_idle_s / 2:
            self._last_claim = time.monotonic()
            claimed = await self.redis.xautoclaim(
                self.keys.stream,
                self.keys.group,
                self.consumer,
                int(self.index_settings.claim_idle_s * 1000),
                "0-0",
                count=count,
            )
            entries = [_entry(i, f) for i, f in claimed[1] if f]
            if entries:
                self.stats.claimed += len(entries)
                log.info("claimed_entries", count=len(entries))
                return entries
        reply = await self.redis.xreadgroup(
            self.keys.group, self.consumer, {self.keys.stream: ">"}, count=count, block=500
        )
        return [_entry(i, f) for _, items in reply for i, f in items]

    async def _load(self, entries: list[Entry]) -> None:
        """Until every entry is acknowledged, dead-lettered, set aside to wait for an earlier
        entry of its document, or found claimed by another indexer: nothing new is read meanwhile."""
        pending = entries
        failures = 0
        while pending:
            verdicts = await self._bulk_may_start(pending)
            if verdicts is None:
                return  # stopping: the entries stay pending and are read again next time
            going = [e for e, v in zip(pending, verdicts, strict=True) if v == _GOES]
            waiting = [e for e, v in zip(pending, verdicts, strict=True) if v == _WAITS]
            self._note_waiting(waiting)
            self._note_taken_over(len(pending) - len(going) - len(waiting))
            if not going:
                await self.redis.zrem(self.keys.bulks, self.consumer)
                return
            started = time.monotonic()
            try:
                outcomes = await self._bulk(going)
            finally:
                await self.redis.zrem(self.keys.bulks, self.consumer)
            metrics.BULK_SECONDS.observe(time.monotonic() - started)
            done, dead, retry = self._sorted_outcomes(going, outcomes)
            await self._settle(done, dead)
            if any(_INDEX_MISSING in o.reason for o in outcomes if o.status == 404):
                # The refused writes are retried below, into the index made again.
                log.warning("index_lost", alias=self.write_alias, made_again=await self._init_index())
                metrics.INDEX_LOST.inc()
            if retry:
                failures += 1
                self.stats.retries += len(retry)
                await self.redis.hincrby(self.keys.counters, "retries", len(retry))
                wait = min(
                    self.index_settings.retry_base_s * 2 ** (failures - 1), self.index_settings.retry_max_s
                )
                failed = next(o for o in outcomes if not o.ok)
                log.info(
                    "bulk_retry",
                    entries=len(retry),
                    wait_s=wait,
                    status=failed.status,
                    reason=failed.reason[:300],
                )
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=wait)
                    return  # stopping: the entries stay pending and are read again next time
                except TimeoutError:
                    pass
            pending = retry

    def _sorted_outcomes(
        self, going: list[Entry], outcomes: list[Outcome]
    ) -> tuple[list[Entry], list[tuple[Entry, Outcome]], list[Entry]]:
        """The entries applied, refused for good, and to send again. A document's entries after
        one to send again go again with it, whatever their outcome: applied alone, they would be
        overwritten by the earlier one's later success."""
        retry: list[Entry] = []
        done: list[Entry] = []
        dead: list[tuple[Entry, Outcome]] = []
        again: set[str] = set()
        for entry, outcome in zip(going, outcomes, strict=True):
            if not outcome.ok:
                metrics.BULK_REJECTIONS.labels(status=str(outcome.status or "no_answer")).inc()
            if outcome.status in _PERMANENT and not outcome.ok:
                dead.append((entry, outcome))
            elif entry.doc_id in again:
                retry.append(entry)
            elif outcome.ok:
                done.append(entry)
            elif entry.op == "update" and outcome.status in (404, 409):
                entry.attempts += 1
                if entry.attempts >= self.index_settings.update_attempts:
                    dead.append((entry, outcome))
                else:
                    retry.append(entry)
            else:
                retry.append(entry)
            if retry and retry[-1] is entry:
                again.add(entry.doc_id)
        return done, dead, retry

    def _note_taken_over(self, count: int) -> None:
        if count:
            # Sent from here too, an older operation could land after a later one on its document.
            self.stats.taken_over += count
            metrics.INDEX_ENTRIES_TAKEN_OVER.inc(count)
            log.info("entries_taken_over_by_another_indexer", entries=count)

    def _note_waiting(self, entries: list[Entry]) -> None:
        if not entries:
            return
        self._waiting += entries
        self.stats.waited += len(entries)
        metrics.INDEX_ENTRIES_WAITED.inc(len(entries))
        log.debug("entries_wait_for_earlier_ones", entries=len(entries))

    async def _bulk_may_start(self, entries: list[Entry]) -> list[int] | None:
        """Marks a bulk request in flight, after a reindex's pause if there is one, and says which
        entries go (lua/start_bulk.lua); None: stopping."""
        waited = False
        # The helper splits a chunk larger than bulk_max_bytes into several requests.
        requests = 1 + sum(len(e.payload) for e in entries) // self.index_settings.bulk_max_bytes
        limit_s = requests * self.index_settings.request_timeout_s + _BULK_MARGIN_S
        keys = [self.keys.bulks, self.keys.paused, self.keys.stream, self.keys.held]
        args: list[Any] = [self.consumer, limit_s, self.keys.group]
        for entry in entries:
            args += [entry.entry_id, entry.doc_id]
        while not isinstance(verdicts := await self._start_bulk(keys=keys, args=args), list):
            if not waited:
                log.info("indexing_paused_by_reindex")
                waited = True
            await self._pause(0.2)
            if self._stop.is_set():
                return None
        if waited:
            log.info("indexing_resumed")
        return [int(v) for v in verdicts]

    async def _settle(self, done: list[Entry], dead: list[tuple[Entry, Outcome]]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for entry, outcome in dead:
            pipe.xadd(
                self.keys.dead_letters,
                {
                    "op": entry.op,
                    "id": entry.doc_id,
                    "payload": entry.payload,
                    "status": outcome.status,
                    "reason": outcome.reason[:2000],
                    "entry": entry.entry_id,
                },
                # The latest ones: a cause left unfixed for weeks (every document refused) would
                # otherwise fill Redis memory with payloads; the counters keep the total.
                maxlen=self.index_settings.dead_letters_kept,
                approximate=False,
            )
        settled = done + [e for e, _ in dead]
        if settled:
            args = [self.keys.group]
            for entry in settled:
                args += [entry.entry_id, entry.doc_id]
            await self._settle_entries(keys=[self.keys.stream, self.keys.held], args=args, client=pipe)
        indexed = sum(e.op != "update" for e in done)
        pipe.hincrby(self.keys.counters, "indexed", indexed)
        pipe.hincrby(self.keys.counters, "updated", len(done) - indexed)
        pipe.hincrby(self.keys.counters, "dead_lettered", len(dead))
        await pipe.execute()
        await self._trim()
        self.stats.indexed += indexed
        self.stats.updated += len(done) - indexed
        metrics.INDEXED.labels(op="index").inc(indexed)
        metrics.INDEXED.labels(op="update").inc(len(done) - indexed)
        metrics.DEAD_LETTERS.inc(len(dead))
        metrics.STREAM_BACKLOG.set(await self.redis.xlen(self.keys.stream))
        self.stats.dead_lettered += len(dead)
        for entry, outcome in dead:
            log.warning(
                "dead_letter",
                doc_id=entry.doc_id,
                op=entry.op,
                status=outcome.status,
                reason=outcome.reason[:300],
            )

    async def _trim(self) -> None:
        """Drop entries every indexer has acknowledged, so the stream holds only the backlog."""
        pending = await self.redis.xpending(self.keys.stream, self.keys.group)
        if pending["pending"]:
            oldest = _text(pending["min"])
        else:
            groups = await self.redis.xinfo_groups(self.keys.stream)
            mine = [g for g in groups if _text(g["name"]) == self.keys.group]
            if not mine:
                return
            oldest = _text(mine[0]["last-delivered-id"])
        # Entries before the oldest unacknowledged one (or up to the last delivered) are done.
        await self.redis.xtrim(self.keys.stream, minid=oldest, approximate=False)

    async def _bulk(self, entries: list[Entry]) -> list[Outcome]:
        bulk_helper: Any
        if self.flavor == "elasticsearch":
            from elasticsearch.helpers import async_streaming_bulk as bulk_helper
        else:
            from opensearchpy.helpers import async_streaming_bulk as bulk_helper
        actions = [e.action(self.write_alias) for e in entries]
        outcomes: list[Outcome] = []
        self.stats.bulk_calls += 1
        # Retries are ours (the whole remainder, with back-off), so the helper makes none; with
        # raise_on_exception=False a failed request yields one error per document, in order.
        try:
            async for ok, item in bulk_helper(
                self.client,
                actions,
                chunk_size=self.index_settings.bulk_max_docs,
                max_chunk_bytes=self.index_settings.bulk_max_bytes,
                raise_on_error=False,
                raise_on_exception=False,
                max_retries=0,
                yield_ok=True,
                # A write to a missing alias must fail, not create a plain index of that name.
                require_alias=True,
            ):
                result = next(iter(item.values()))
                status = result.get("status")
                status = status if isinstance(status, int) else 0
                reason = "" if ok else json.dumps(result.get("error"), default=str)
                outcomes.append(Outcome(ok=bool(ok), status=status, reason=reason))
        except no_answer_errors(self.flavor) as exc:
            # The Elasticsearch helper passes a request that got no answer through: an outage
            # like a 503, for the documents not answered yet (earlier requests' stand).
            error = engine_error(exc, self.index_settings.url)
            outcomes += [Outcome(ok=False, status=0, reason=str(error)) for _ in entries[len(outcomes) :]]
        if len(outcomes) != len(entries):  # never seen; fail safe: retry everything
            return [Outcome(ok=False, status=0, reason="bulk answer did not match") for _ in entries]
        return outcomes
