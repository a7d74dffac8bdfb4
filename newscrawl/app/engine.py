"""The embedded crawl engine: it only coordinates.

It leases due URLs from the frontier, fetches them concurrently on one event loop, hands each
response to the page processor, and takes the result to the frontier, the dedup stage and the
index. A URL is completed in the frontier only after its document is written, so a crash loses
nothing: the URL is leased again on the next run.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from newscrawl.app.factory import Components
from newscrawl.core.errors import StoreError
from newscrawl.core.log import get_logger
from newscrawl.core.records import Lease
from scheduler.outlets import OutletScope
from scheduler.policy import seed
from workers.handler import CrawlStats, LeaseHandler

__all__ = ["CrawlEngine", "CrawlStats"]

log = get_logger("newscrawl.engine")

_MAX_IDLE_SLEEP_S = 0.5


class CrawlEngine:
    def __init__(
        self, components: Components, *, on_progress: Callable[[CrawlStats], None] | None = None
    ) -> None:
        self.components = components
        self._scope = OutletScope(components.outlets)
        self.handler = LeaseHandler(components.handler_parts())
        self.stats: CrawlStats = self.handler.stats
        self._on_progress = on_progress
        self._stop = asyncio.Event()
        self._held: dict[asyncio.Task[None], Lease] = {}
        # Leased, not started yet (a death leaves them uncounted): to start at once, or one at
        # a time once nothing else is in flight.
        self._ready: list[Lease] = []
        self._suspects: list[Lease] = []
        self._runner = f"embedded:{os.getpid()}"
        self._last_beat = float("-inf")  # nothing is held yet: the first renewal finds nothing to renew

    def stop(self) -> None:
        """Stop leasing; in-flight fetches finish and are recorded."""
        self._stop.set()

    def seed(self) -> int:
        return seed(self.components.frontier, self.components.outlets, self.components.frontier.now())

    async def run(self, *, until_idle: bool = True, max_pages: int | None = None) -> CrawlStats:
        self.seed()
        await self.components.fetcher.start()
        tasks: set[asyncio.Task[None]] = set()
        leased_pages = 0
        last_progress = 0.0
        cpu_start = time.process_time()
        # Until idle is one pass: a URL fetched in this run is not leased again by it.
        fetched_before = self.components.frontier.now() if until_idle else None
        outage = self.handler.parts.outage
        try:
            while True:
                try:
                    now = self.components.frontier.now()
                    # A URL whose holder died with it runs alone once what is in flight is done:
                    # were it to kill the process again, nothing else would die with it.
                    isolating = self._suspects or any(self._held[t].lost for t in tasks)
                    room = (
                        0
                        if isolating
                        else self.components.settings.concurrency - len(tasks) - len(self._ready)
                    )
                    budget_left = max_pages is None or leased_pages < max_pages
                    leased = 0
                    if room > 0 and budget_left and not self._stop.is_set() and not self._held_back():
                        if max_pages is not None:
                            room = min(room, max_pages - leased_pages)
                        for lease in self.components.frontier.lease(now, room, fetched_before=fetched_before):
                            if self._scope.removed(lease):
                                self.components.frontier.fail(lease, self._scope.error(lease), now)
                                continue
                            leased_pages += lease.kind != "robots"
                            leased += 1
                            (self._suspects if lease.lost else self._ready).append(lease)
                    if self._suspects and not tasks and not self._ready and not self._stop.is_set():
                        self._ready.append(self._suspects.pop(0))
                    self._heartbeat(now)
                    self._start(tasks)
                    if not tasks and (
                        self._stop.is_set()
                        or (
                            not self._ready
                            and not self._suspects
                            and (not budget_left or (until_idle and self._idle(now, fetched_before)))
                        )
                    ):
                        break
                    if self._on_progress and now - last_progress > 0.5:
                        last_progress = now
                        self._on_progress(self.stats)
                    await self._wait(tasks, busy=leased > 0, fetched_before=fetched_before)
                except StoreError as exc:
                    # A Redis backend gone, a locked or full SQLite file: wait it out; fetches in
                    # flight finish and their pages wait in the handler the same way.
                    await asyncio.sleep(outage.failed(exc))
                    continue
                outage.recovered()
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            await self.components.fetcher.close()
            busy = sum(v for k, v in self.stats.cpu_s.items())
            self.stats.cpu_s["fetch"] = max(time.process_time() - cpu_start - busy, 0.0)
            if self._on_progress:
                self._on_progress(self.stats)
        return self.stats

    def _start(self, tasks: set[asyncio.Task[None]]) -> None:
        """Fetch the ready leases, each claimed first: from then on the process's death counts
        against its URL (``frontier.max_attempts`` of them and it is given up)."""
        if not self._ready:
            return
        claimed = self.components.frontier.claim(self._ready, self._runner)  # a store outage: kept
        leases, self._ready = self._ready, []
        for lease, mine in zip(leases, claimed, strict=True):
            if mine:
                task = asyncio.create_task(self._handle(lease))
                self._held[task] = lease
                tasks.add(task)

    def _held_back(self) -> bool:
        """The index stream is at its limit (newscrawl/core/backlog.py): lease nothing new."""
        gate = self.components.backlog_gate
        return gate is not None and gate.holds_back()

    def _heartbeat(self, now: float) -> None:
        """Renew the leases of fetches in flight: a slow page (or a store outage) never lets one
        expire and go to another process while this one still works on it."""
        for task in [t for t in self._held if t.done()]:
            del self._held[task]
        held = [*self._held.values(), *self._ready, *self._suspects]
        if held and now - self._last_beat >= self.components.settings.frontier.lease_heartbeat_s:
            self._last_beat = now
            self.components.frontier.renew(held, now)

    def _idle(self, now: float, fetched_before: float | None) -> bool:
        """One pass is over: nothing pending, or nothing due before ``until_idle_max_wait_s``
        (a host resting on a long Retry-After); what is left is reported, not waited for."""
        frontier = self.components.frontier
        pending = frontier.pending(now, fetched_before=fetched_before)
        if pending == 0:
            return True
        wake = frontier.next_wakeup(now, fetched_before=fetched_before)
        max_wait = self.components.settings.frontier.until_idle_max_wait_s
        if wake is not None and wake - now <= max_wait:
            return False
        self.stats.left_for_later = {
            "urls": pending,
            "next_due_in_s": round(wake - now, 1) if wake is not None else None,
        }
        log.info("until_idle_stops_with_work_due_later", **self.stats.left_for_later)
        return True

    async def _wait(
        self, tasks: set[asyncio.Task[None]], *, busy: bool, fetched_before: float | None = None
    ) -> None:
        """Until a fetch finishes or the frontier's next due time, whichever comes first."""
        now = self.components.frontier.now()
        if busy:
            # Leases were just handed out: more may be due at once, so look again soon.
            timeout = 0.005
        else:
            wake = self.components.frontier.next_wakeup(now, fetched_before=fetched_before)
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
        self.handler.settle(lease, await self.handler.fetch(lease))
