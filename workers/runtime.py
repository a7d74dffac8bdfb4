"""One worker process of the distributed mode: its event loop, its HTTP session, its stores.

Celery's prefork pool runs tasks on each child process's main thread, one at a time. Network I/O
runs on an event loop that lives as long as the process, in a thread of its own, with one aiohttp
session (connection pool, DNS cache) kept across tasks. A task hands the loop every fetch of its
batch at once and settles each response on the task's thread as soon as it arrives, so parsing
one page overlaps with fetching the others, and ``asyncio.run`` is never called per task.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newscrawl.core.errors import ConfigError, StoreError, TaskTimeLimit
from newscrawl.core.interfaces import Frontier
from newscrawl.core.loading import load_object
from newscrawl.core.log import get_logger
from newscrawl.core.records import Lease
from newscrawl.core.redis_keys import StatsKeys
from newscrawl.core.settings import Settings
from workers.handler import HandlerParts, LeaseHandler

log = get_logger("newscrawl.worker")

_STATS_BUCKETS_KEPT_S = 900


class WorkerRuntime:
    """Built by the composition root (``settings.workers.runtime_factory``) after the fork."""

    def __init__(
        self,
        parts: HandlerParts,
        *,
        stats_client: Any,
        prefix: str,
        close_stores: Callable[[], None],
        heartbeat_s: float,
        checkpoints: Path | None = None,
    ) -> None:
        self.pid = os.getpid()
        self.checkpoints = checkpoints
        self.heartbeat_s = heartbeat_s
        self.parts = parts
        self.frontier = parts.frontier
        self._redis = stats_client
        self._keys = StatsKeys(prefix)
        self._close_stores = close_stores
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="newscrawl-io", daemon=True)
        self._thread.start()
        self._call(parts.fetcher.start())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def run_batch(self, leases: list[Lease]) -> dict[str, Any]:
        """Fetch the batch concurrently, settle each page as it arrives; returns the batch's counters."""
        from billiard.exceptions import SoftTimeLimitExceeded

        cpu0 = time.process_time()
        handler = LeaseHandler(self.parts, abort_on=(SoftTimeLimitExceeded,))
        # A redelivered task may carry leases that expired and went to another worker since, or
        # that the first delivery is still working on.
        # A store outage as the batch starts is waited out like one while it runs (a claim tried
        # again under the same runner name finds its own claims).
        runner = f"{socket.gethostname()}:{self.pid}:{uuid.uuid4().hex[:12]}"
        # A task that waited in the queue (a backlog, a broker outage) starts with leases near or
        # past their timeout: renewed as they are claimed, in one step, or a lease call between
        # the two would hand them to another worker while this one fetches them.
        claimed = self.parts.outage.call(lambda: self.frontier.claim(leases, runner, self.frontier.now()))
        live = [lease for lease, mine in zip(leases, claimed, strict=True) if mine]
        handler.stats.stale = len(leases) - len(live)
        pending = {asyncio.run_coroutine_threadsafe(handler.fetch(lease), self.loop): lease for lease in live}
        heartbeat = _Heartbeat(self.frontier, live, self.heartbeat_s)
        try:
            for future in concurrent.futures.as_completed(pending):
                lease = pending[future]
                handler.settle(lease, future.result())
                heartbeat.done(lease)
        except SoftTimeLimitExceeded:
            # Out of time (a slow store, a stalled lock): every lease of the batch goes back to
            # the frontier as a transient failure; those already reported are no longer held,
            # so the frontier ignores them.
            for future, lease in pending.items():
                future.cancel()
                self._give_back(lease)
            log.warning("task_time_limit", leases=len(live))
        finally:
            heartbeat.stop()
        busy = sum(handler.stats.cpu_s.values())
        handler.stats.cpu_s["fetch"] = max(time.process_time() - cpu0 - busy, 0.0)
        counters = handler.stats.counters()
        try:
            self._publish(counters)
        except StoreError as exc:  # counters are for watching; the pages themselves are settled
            log.warning("stats_not_published", error=exc.message)
        return {k: v for k, v in counters.items() if v}

    def reprocess(self, path: str, *, hosts: list[str] | None, since: str | None) -> dict[str, Any]:
        """One WARC file through this process's pipeline, dedup stage and index."""
        from datetime import datetime

        from workers.reprocess import Reprocessor

        if self.checkpoints is None:
            raise ConfigError("this worker has no reprocess checkpoint directory")
        reprocessor = Reprocessor(
            self.parts.processor,
            self.parts.dedup,
            self.parts.index,
            self.checkpoints,
            hosts=set(hosts) if hosts else None,
            since=datetime.fromisoformat(since) if since else None,
        )
        return reprocessor.run([Path(path)]).as_dict()

    def _give_back(self, lease: Lease) -> None:
        try:
            self.frontier.fail(lease, TaskTimeLimit("task time limit", url=lease.url), self.frontier.now())
        except Exception as exc:  # the lease still expires and returns on its own
            log.warning("give_back_failed", url=lease.url, error=repr(exc))

    def _publish(self, counters: dict[str, int]) -> None:
        bucket = int(self.frontier.now()) // StatsKeys.bucket_s
        pipe = self._redis.pipeline(transaction=False)
        for key, value in counters.items():
            if value:
                pipe.hincrby(self._keys.counters, key, value)
        pages = counters.get("pages_fetched", 0)
        if pages:
            pipe.incrby(self._keys.pages(bucket), pages)
            pipe.expire(self._keys.pages(bucket), _STATS_BUCKETS_KEPT_S)
        pipe.execute()

    def close(self) -> None:
        try:
            self._call(self.parts.fetcher.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            self._close_stores()


class _Heartbeat:
    """Renews a batch's unsettled leases every ``interval_s`` from a thread of its own, so a
    long batch keeps its URLs while a dead worker's come back within the lease timeout."""

    def __init__(self, frontier: Frontier, leases: list[Lease], interval_s: float) -> None:
        self._frontier = frontier
        self._unsettled = {id(lease): lease for lease in leases}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), name="newscrawl-heartbeat")
        self._thread.daemon = True
        self._thread.start()

    def done(self, lease: Lease) -> None:
        with self._lock:
            self._unsettled.pop(id(lease), None)

    def _run(self, interval_s: float) -> None:
        while not self._stopped.wait(interval_s):
            with self._lock:
                leases = list(self._unsettled.values())
            try:
                self._frontier.renew(leases, self._frontier.now())
            except StoreError as exc:  # the store is down: the leases' own timeout is the net
                log.warning("lease_heartbeat_failed", leases=len(leases), error=exc.message)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)


_runtime: WorkerRuntime | None = None
_lock = threading.Lock()


def get_runtime(settings: Settings) -> WorkerRuntime:
    """This process's runtime, built on first use (after the fork: sockets are never shared)."""
    global _runtime
    with _lock:
        if _runtime is None or _runtime.pid != os.getpid():
            build = load_object(settings.workers.runtime_factory, setting="workers.runtime_factory")
            _runtime = build(settings)
            log.info("worker_runtime_started", pid=_runtime.pid)
        return _runtime


def close_runtime() -> None:
    global _runtime
    with _lock:
        if _runtime is not None and _runtime.pid == os.getpid():
            _runtime.close()
        _runtime = None
