"""The distributed mode's scheduler: it leases due URLs from the shared frontier and queues them
as Celery tasks. It only coordinates; politeness is decided inside the frontier's Lua scripts.

Safe to restart at any time: the frontier lives in Redis, tasks already queued stay queued, and a
lease taken but never dispatched (the scheduler died in between) expires after
``frontier.lease_timeout_s`` and is leased again. Revisits are due times in the frontier, never
Celery countdowns.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from newscrawl.core import metrics
from newscrawl.core.backlog import IndexBacklogGate
from newscrawl.core.errors import StoreError
from newscrawl.core.interfaces import Frontier
from newscrawl.core.log import get_logger
from newscrawl.core.outage import Outage
from newscrawl.core.records import Lease, lease_to_json
from newscrawl.core.redis_connections import data_loss_risks
from newscrawl.core.redis_keys import StatsKeys
from newscrawl.core.settings import Settings
from newscrawl.core.taskqueue import CRAWL_TASK, make_app
from scheduler.outlets import Outlet, OutletScope
from scheduler.policy import seed

log = get_logger("newscrawl.scheduler")

_BUSY_SLEEP_S = 0.05
_SEEDED_FIELD = "seeded_at"
# With the in-flight cap reached, the queue holds work for a while: look again less often.
_THROTTLED_SLEEP_S = 0.2


class Dispatcher(Protocol):
    def dispatch(self, leases: list[Lease]) -> None:
        """Queue one task for this batch of leases."""


class CeleryDispatcher:
    def __init__(self, settings: Settings) -> None:
        # A client app that sends by name: the scheduler never imports the workers' code.
        self._app = make_app(settings)
        self._task = CRAWL_TASK
        self._queue = settings.task_queue

    def dispatch(self, leases: list[Lease]) -> None:
        # What Flower shows for the task; also spares Celery a repr of every lease.
        summary = f"{len(leases)} leases: {leases[0].url}" + (" ..." if len(leases) > 1 else "")
        try:
            self._app.send_task(
                self._task,
                args=[[lease_to_json(lease) for lease in leases]],
                queue=self._queue,
                argsrepr=summary,
                retry=False,  # our outage handling retries, without blocking the loop for long
            )
        except (OSError, KombuOperationalError, RedisError) as exc:
            raise StoreError(f"broker: cannot queue a task: {type(exc).__name__}: {exc}") from exc


def batches(leases: list[Lease], size: int) -> list[list[Lease]]:
    """Split into ceil(n/size) batches of near-equal size, so idle workers share a small lease.
    A lease whose holder died with it before goes alone: should the page kill workers, it takes
    no other page down with it (each batch is one task, and one worker process)."""
    suspects = [[lease] for lease in leases if lease.lost]
    healthy = [lease for lease in leases if not lease.lost]
    if not healthy:
        return suspects
    count = -(-len(healthy) // size)
    return [healthy[i::count] for i in range(count)] + suspects


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        outlets: list[Outlet],
        frontier: Frontier,
        dispatcher: Dispatcher,
        *,
        stats_client: Any,
        backlog_gate: IndexBacklogGate | None = None,
    ) -> None:
        self.settings = settings
        self.outlets = outlets
        self._scope = OutletScope(outlets)
        self.frontier = frontier
        self.dispatcher = dispatcher
        self._backlog_gate = backlog_gate
        self._redis = stats_client
        self._keys = StatsKeys(settings.redis_prefix)
        self._stop = threading.Event()
        self.dispatched_tasks = 0
        self.dispatched_leases = 0
        self._last_heartbeat = 0.0
        self._last_gauges = 0.0
        self._throttled = False
        self._last_seed = 0.0
        self.left_for_later: dict[str, Any] | None = None
        self._undispatched: list[list[Lease]] = []
        # Redis (the frontier) and the broker (Redis or RabbitMQ) are waited out alike.
        self.outage = Outage("stores", limit_s=settings.store_outage_limit_s)

    def stop(self) -> None:
        self._stop.set()

    def seed(self, now: float) -> int:
        added = seed(self.frontier, self.outlets, now)
        # The mark a store that lost its data (Redis restarted without persistence) lacks.
        self._redis.hset(self._keys.scheduler, _SEEDED_FIELD, now)
        self._last_seed = time.monotonic()
        return added

    def _in_scope(self, leases: list[Lease], now: float) -> list[Lease]:
        """The leases to send: those of outlets removed from the outlets file are failed here."""
        kept = []
        for lease in leases:
            if self._scope.removed(lease):
                self.frontier.fail(lease, self._scope.error(lease), now)
            else:
                kept.append(lease)
        return kept

    def _dispatch_held(self) -> None:
        while self._undispatched:
            self.dispatcher.dispatch(self._undispatched[0])
            self._undispatched.pop(0)

    def tick(self, now: float, fetched_before: float | None) -> int:
        """Lease what is due (within the in-flight cap) and queue it; returns the leases queued."""
        in_flight = self.frontier.in_flight()
        room = self.settings.scheduler.max_in_flight - in_flight
        # Full batches keep the per-task cost low; a nearly idle cluster gets what there is.
        if room < self.settings.workers.batch_size and in_flight >= self.settings.workers.batch_size:
            self._throttled = True
            return 0
        if self._backlog_gate is not None and self._backlog_gate.holds_back():
            self._throttled = True  # the index stream is full: what is crawled now would wait there
            return 0
        self._throttled = False
        leases = self._in_scope(self.frontier.lease(now, room, fetched_before=fetched_before), now)
        for lease in leases:
            if lease.due_at is not None:
                metrics.POLITENESS_WAIT.observe(max(now - lease.due_at, 0.0))
        tasks = batches(leases, self.settings.workers.batch_size)
        # Leased before queued: batches the broker refuses are kept and queued after the outage
        # (they are this scheduler's leases; expiry would hand them out again much later).
        self._undispatched.extend(tasks)
        self._dispatch_held()
        if leases:
            metrics.TASKS_DISPATCHED.inc(len(tasks))
            metrics.LEASES_DISPATCHED.inc(len(leases))
            self.dispatched_tasks += len(tasks)
            self.dispatched_leases += len(leases)
            pipe = self._redis.pipeline(transaction=False)
            pipe.hincrby(self._keys.scheduler, "tasks_dispatched", len(tasks))
            pipe.hincrby(self._keys.scheduler, "leases_dispatched", len(leases))
            pipe.execute()
        return len(leases)

    def run(self, *, until_idle: bool = False) -> dict[str, Any]:
        """Run until stopped, or with ``until_idle`` until one pass over the frontier is done."""
        # Both read the frontier's clock, which asks Redis: a Redis still down is waited for.
        fetched_before = self.outage.call(self.frontier.now, sleep=self._stop.wait) if until_idle else None
        added = self.outage.call(lambda: self.seed(self.frontier.now()), sleep=self._stop.wait)
        log.info("scheduler_started", seeded=added, until_idle=until_idle)
        for risk in data_loss_risks(self._redis):
            log.warning("redis_may_lose_data", risk=risk)
        while not self._stop.is_set():
            try:
                wait_s = self._step(fetched_before, until_idle)
            except StoreError as exc:
                # Redis or the broker went away: wait it out; the frontier keeps every lease.
                self._stop.wait(self.outage.failed(exc))
                continue
            self.outage.recovered()
            if wait_s is None:
                break
            self._stop.wait(wait_s)
        if self._undispatched:
            try:  # stopping: queue what this scheduler leased; else it returns at the lease timeout
                self._dispatch_held()
            except StoreError as exc:
                log.warning("leases_left_to_expire", batches=len(self._undispatched), error=exc.message)
        log.info("scheduler_stopped", tasks=self.dispatched_tasks, leases=self.dispatched_leases)
        summary: dict[str, Any] = {
            "tasks_dispatched": self.dispatched_tasks,
            "leases_dispatched": self.dispatched_leases,
        }
        if self.left_for_later:
            summary["left_for_later"] = self.left_for_later
        return summary

    def _step(self, fetched_before: float | None, until_idle: bool) -> float | None:
        """One round: queue what is due; how long to wait before the next (None: done)."""
        now = self.frontier.now()
        if time.monotonic() - self._last_seed > self.settings.scheduler.reseed_interval_s:
            self.seed(now)
        queued = self.tick(now, fetched_before)
        self._heartbeat(now)
        if until_idle and not queued and not self._undispatched and self._idle(now, fetched_before):
            return None
        if queued:
            return _BUSY_SLEEP_S
        if self._throttled:
            return _THROTTLED_SLEEP_S
        return self._idle_sleep_s(now, fetched_before)

    def _reseed_if_lost(self, now: float) -> bool:
        """Redis came back empty (it ran without persistence): the frontier is gone, and the
        outlets' seeds start it again now rather than at the next periodic reseed."""
        if self._redis.hexists(self._keys.scheduler, _SEEDED_FIELD):
            return False
        log.warning("store_data_lost", store="redis", reseeded=self.seed(now))
        return True

    def _idle(self, now: float, fetched_before: float | None) -> bool:
        # Leases out mean work pending: skip the costlier count of everything else.
        if self.frontier.in_flight() or self._reseed_if_lost(now):
            return False
        pending = self.frontier.pending(now, fetched_before=fetched_before)
        if pending == 0:
            return True
        # Nothing due before the until-idle bound (a long Retry-After): report it, don't wait.
        wake = self.frontier.next_wakeup(now, fetched_before=fetched_before)
        if wake is not None and wake - now <= self.settings.frontier.until_idle_max_wait_s:
            return False
        self.left_for_later = {"urls": pending, "next_due_in_s": round(wake - now, 1) if wake else None}
        log.info("until_idle_stops_with_work_due_later", **self.left_for_later)
        return True

    def _idle_sleep_s(self, now: float, fetched_before: float | None) -> float:
        cap = self.settings.scheduler.idle_sleep_ms / 1000.0
        wake = self.frontier.next_wakeup(now, fetched_before=fetched_before)
        return cap if wake is None else min(max(wake - now, _BUSY_SLEEP_S), cap)

    def _heartbeat(self, now: float) -> None:
        if now - self._last_heartbeat >= 1.0:
            self._last_heartbeat = now
            self._redis.hset(self._keys.scheduler, "heartbeat_at", now)
            self._reseed_if_lost(now)
        if now - self._last_gauges >= 5.0:
            self._last_gauges = now
            stats = self.frontier.stats()
            for state, count in dict(stats["urls"]).items():  # type: ignore[call-overload]
                metrics.FRONTIER_URLS.labels(state=state).set(count)
            metrics.FRONTIER_HOSTS_DUE.set(int(stats.get("hosts_due", 0)))  # type: ignore[call-overload]
            metrics.LEASES_OUT.set(self.frontier.in_flight())

    def close(self) -> None:
        """The stats client belongs to the process's connection factory: nothing to close here."""
