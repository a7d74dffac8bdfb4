"""The embedded crawl engine: it only coordinates.

It leases due URLs from the frontier, fetches them concurrently on one event loop, hands each
response to the page processor, and takes the result to the frontier, the dedup stage and the
index. A URL is completed in the frontier only after its document is written, so a crash loses
nothing: the URL is leased again on the next run.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from newscrawl.errors import HTTPStatusError, InternalError, NewscrawlError
from newscrawl.factory import Components
from newscrawl.log import get_logger
from scheduler.frontier import FrontierEntry, Lease, Outcome
from workers.dedup import DocUpdate
from workers.fetch import FetchResponse
from workers.pipeline import PageResult

log = get_logger("newscrawl.engine")

_MAX_IDLE_SLEEP_S = 0.5


@dataclass
class CrawlStats:
    started_at: float = field(default_factory=time.monotonic)
    fetched: int = 0
    robots: int = 0
    bytes: int = 0
    articles: int = 0
    aliases: int = 0
    duplicates: int = 0
    corrections: int = 0
    not_modified: int = 0
    unchanged: int = 0
    discovered: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    # CPU seconds per stage; fetch is what the event loop spent outside the other stages.
    cpu_s: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    def as_dict(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started_at
        return {
            "elapsed_s": round(elapsed, 3),
            "pages_fetched": self.fetched,
            "robots_fetched": self.robots,
            "bytes": self.bytes,
            "articles_indexed": self.articles,
            "url_aliases": self.aliases,
            "duplicates_at_index_time": self.duplicates,
            "index_corrections": self.corrections,
            "not_modified": self.not_modified,
            "unchanged": self.unchanged,
            "discovered": self.discovered,
            "pages_by_kind": dict(self.by_kind),
            "errors": dict(self.errors),
            "cpu_s": {k: round(v, 4) for k, v in self.cpu_s.items()},
        }


class CrawlEngine:
    def __init__(
        self, components: Components, *, on_progress: Callable[[CrawlStats], None] | None = None
    ) -> None:
        self.c = components
        self.stats = CrawlStats()
        self._on_progress = on_progress
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Stop leasing; in-flight fetches finish and are recorded."""
        self._stop.set()

    def seed(self) -> int:
        entries = [
            FrontierEntry(url=url, kind=kind, outlet=o.name)  # type: ignore[arg-type]
            for o in self.c.outlets
            for url, kind in o.seeds()
        ]
        return self.c.frontier.add(entries, time.time()).added

    async def run(self, *, until_idle: bool = True, max_pages: int | None = None) -> CrawlStats:
        self.seed()
        await self.c.fetcher.start()
        tasks: set[asyncio.Task[None]] = set()
        leased_pages = 0
        last_progress = 0.0
        cpu_start = time.process_time()
        # Until idle is one pass: a URL fetched in this run is not leased again by it.
        fetched_before = time.time() if until_idle else None
        try:
            while True:
                now = time.time()
                room = self.c.settings.concurrency - len(tasks)
                budget_left = max_pages is None or leased_pages < max_pages
                leased = 0
                if room > 0 and budget_left and not self._stop.is_set():
                    if max_pages is not None:
                        room = min(room, max_pages - leased_pages)
                    for lease in self.c.frontier.lease(now, room, fetched_before=fetched_before):
                        leased_pages += lease.kind != "robots"
                        leased += 1
                        tasks.add(asyncio.create_task(self._handle(lease)))
                if not tasks and (
                    self._stop.is_set()
                    or not budget_left
                    or (until_idle and self.c.frontier.pending(now, fetched_before=fetched_before) == 0)
                ):
                    break
                if self._on_progress and now - last_progress > 0.5:
                    last_progress = now
                    self._on_progress(self.stats)
                await self._wait(tasks, busy=leased > 0)
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            await self.c.fetcher.close()
            busy = sum(v for k, v in self.stats.cpu_s.items())
            self.stats.cpu_s["fetch"] = max(time.process_time() - cpu_start - busy, 0.0)
            if self._on_progress:
                self._on_progress(self.stats)
        return self.stats

    async def _wait(self, tasks: set[asyncio.Task[None]], *, busy: bool) -> None:
        """Until a fetch finishes or the frontier's next due time, whichever comes first."""
        now = time.time()
        if busy:
            # Leases were just handed out: more may be due at once, so look again soon.
            timeout = 0.005
        else:
            wake = self.c.frontier.next_wakeup(now)
            timeout = _MAX_IDLE_SLEEP_S if wake is None else min(max(wake - now, 0.005), _MAX_IDLE_SLEEP_S)
        if tasks:
            done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            tasks.difference_update(done)
            for task in done:
                if task.exception() is not None:
                    log.error("task_crashed", error=repr(task.exception()))
        else:
            await asyncio.sleep(timeout)

    async def _handle(self, lease: Lease) -> None:
        try:
            await self._handle_lease(lease)
        except Exception as exc:
            log.error("internal_error", url=lease.url, error=repr(exc), exc_info=True)
            self._fetch_failed(lease, InternalError(f"{type(exc).__name__}: {exc}", url=lease.url))

    async def _handle_lease(self, lease: Lease) -> None:
        try:
            response = await self.c.fetcher.fetch(
                lease.url, etag=lease.etag, last_modified=lease.last_modified
            )
        except NewscrawlError as exc:
            self._fetch_failed(lease, exc)
            return
        self.stats.bytes += len(response.body)
        if lease.kind == "robots":
            self.stats.robots += 1
            self.c.frontier.set_robots(lease.host, response.text or None, time.time())
            return
        self.stats.fetched += 1
        if response.not_modified:
            self.stats.not_modified += 1
            self.c.frontier.complete(lease, Outcome(status=304), time.time())
            return
        self._process(lease, response)

    def _fetch_failed(self, lease: Lease, exc: NewscrawlError) -> None:
        now = time.time()
        if lease.kind == "robots":
            self.stats.robots += 1
            # RFC 9309: 4xx means no robots.txt; 5xx and 429 mean "unreachable, assume disallow".
            unreachable = isinstance(exc, HTTPStatusError) and (exc.status >= 500 or exc.status == 429)
            self.c.frontier.set_robots(lease.host, None, now, reachable=not unreachable)
            return
        self.stats.fetched += 1
        self.stats.errors[exc.kind] += 1
        log.info("fetch_failed", url=lease.url, kind=exc.kind, error=exc.message)
        self.c.frontier.fail(lease, exc, now)

    def _process(self, lease: Lease, response: FetchResponse) -> None:
        t0 = time.process_time()
        result = self.c.processor.process(lease, response)
        t1 = time.process_time()
        self.stats.cpu_s["extract"] += result.extract_cpu_s
        self.stats.cpu_s["parse"] += t1 - t0 - result.extract_cpu_s
        now = time.time()
        if result.error is not None:
            self.stats.errors[result.error.kind] += 1
            log.info("page_failed", url=lease.url, kind=result.error.kind, error=result.error.message)
            self.c.frontier.fail(lease, result.error, now)
            return
        if result.unchanged:
            self.stats.unchanged += 1
        else:
            self.stats.by_kind[result.kind or "other"] += 1
            self._store(lease, result, now)
        self.c.frontier.complete(
            lease,
            Outcome(
                status=response.status,
                final_url=response.final_url,
                kind=result.kind,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                body_hash=result.body_hash,
            ),
            now,
        )

    def _store(self, lease: Lease, result: PageResult, now: float) -> None:
        t0 = time.process_time()
        if result.entries:
            self.stats.discovered += self.c.frontier.add(result.entries, now).added
        t1 = time.process_time()
        self.stats.cpu_s["frontier"] += t1 - t0
        updates: list[DocUpdate] = []
        if result.teasers:
            updates += self.c.dedup.observe_listing(lease.host, result.teasers)
        doc = result.document
        outcome = self.c.dedup.process(doc) if doc is not None else None
        t2 = time.process_time()
        self.stats.cpu_s["dedup"] += t2 - t1
        if doc is not None and outcome is not None:
            if outcome.action == "index":
                self.c.index.upsert(doc)
                self.stats.articles += 1
                self.stats.duplicates += doc.duplicate_of is not None
            else:
                self.stats.aliases += 1
            updates += outcome.updates
        for update in updates:
            self.c.index.update(update.doc_id, update.fields)
        self.stats.corrections += len(updates)
        self.stats.cpu_s["index"] += time.process_time() - t2
