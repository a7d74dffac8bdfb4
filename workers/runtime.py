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
import threading
import time
from typing import Any

import redis

from newscrawl.errors import ConfigError, TaskTimeLimit
from newscrawl.factory import Components, build_components
from newscrawl.log import get_logger
from newscrawl.redis_keys import StatsKeys
from newscrawl.settings import Settings
from scheduler.frontier import Lease
from scheduler.outlets import load_outlets
from scheduler.redis_frontier import RedisFrontier
from workers.handler import LeaseHandler

log = get_logger("newscrawl.worker")

_STATS_BUCKETS_KEPT_S = 900


class WorkerRuntime:
    def __init__(self, settings: Settings) -> None:
        if settings.frontier.backend != "redis" or settings.dedup.backend != "redis":
            raise ConfigError(
                "Celery workers share the frontier and the dedup store: set frontier.backend and"
                " dedup.backend to 'redis' (NEWSCRAWL_FRONTIER__BACKEND=redis NEWSCRAWL_DEDUP__BACKEND=redis)"
            )
        self.settings = settings
        self.pid = os.getpid()
        self.components: Components = build_components(settings, load_outlets(settings.outlets_file))
        assert isinstance(self.components.frontier, RedisFrontier)
        self.frontier: RedisFrontier = self.components.frontier
        self._redis: Any = redis.Redis.from_url(settings.redis_url)
        self._keys = StatsKeys(settings.redis_prefix)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="newscrawl-io", daemon=True)
        self._thread.start()
        self._call(self.components.fetcher.start())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def run_batch(self, leases: list[Lease]) -> dict[str, Any]:
        """Fetch the batch concurrently, settle each page as it arrives; returns the batch's counters."""
        from billiard.exceptions import SoftTimeLimitExceeded

        cpu0 = time.process_time()
        handler = LeaseHandler(self.components, abort_on=(SoftTimeLimitExceeded,))
        # A redelivered task may carry leases that expired and went to another worker since.
        live = [lease for lease, held in zip(leases, self.frontier.holds(leases), strict=True) if held]
        handler.stats.stale = len(leases) - len(live)
        pending = {asyncio.run_coroutine_threadsafe(handler.fetch(lease), self.loop): lease for lease in live}
        try:
            for future in concurrent.futures.as_completed(pending):
                handler.settle(pending[future], future.result())
        except SoftTimeLimitExceeded:
            # Out of time (a slow store, a stalled lock): every lease of the batch goes back to
            # the frontier as a transient failure; those already reported are no longer held,
            # so the frontier ignores them.
            for future, lease in pending.items():
                future.cancel()
                self._give_back(lease)
            log.warning("task_time_limit", leases=len(live))
        busy = sum(handler.stats.cpu_s.values())
        handler.stats.cpu_s["fetch"] = max(time.process_time() - cpu0 - busy, 0.0)
        counters = handler.stats.counters()
        self._publish(counters)
        return {k: v for k, v in counters.items() if v}

    def _give_back(self, lease: Lease) -> None:
        try:
            self.frontier.fail(lease, TaskTimeLimit("task time limit", url=lease.url), time.time())
        except Exception as exc:  # the lease still expires and returns on its own
            log.warning("give_back_failed", url=lease.url, error=repr(exc))

    def _publish(self, counters: dict[str, int]) -> None:
        bucket = int(time.time()) // StatsKeys.bucket_s
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
            self._call(self.components.fetcher.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            self.components.close()
            self._redis.close()


_runtime: WorkerRuntime | None = None
_lock = threading.Lock()


def get_runtime(settings: Settings) -> WorkerRuntime:
    """This process's runtime, built on first use (after the fork: sockets are never shared)."""
    global _runtime
    with _lock:
        if _runtime is None or _runtime.pid != os.getpid():
            _runtime = WorkerRuntime(settings)
            log.info("worker_runtime_started", pid=_runtime.pid)
        return _runtime


def close_runtime() -> None:
    global _runtime
    with _lock:
        if _runtime is not None and _runtime.pid == os.getpid():
            _runtime.close()
        _runtime = None
