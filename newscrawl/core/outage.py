"""Waiting out a store outage: capped exponential back-off with jitter, two log lines per outage.

A process that depends on Redis (or a locked SQLite file, or a full disk) does not crash when
the store goes away: the operation that failed is tried again after a back-off, the outage is
logged once when it starts and once when it ends (never once per attempt), and it shows in
metrics. Only an outage longer than ``store_outage_limit_s`` (unset: none) ends the process.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from newscrawl.core import metrics
from newscrawl.core.errors import StoreError
from newscrawl.core.log import get_logger

T = TypeVar("T")

log = get_logger("newscrawl.outage")


class Outage:
    """The state of one process's view of one store (``name``): up, or down since when."""

    def __init__(
        self,
        name: str,
        *,
        base_s: float = 0.2,
        max_s: float = 5.0,
        limit_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.base_s = base_s
        self.max_s = max_s
        self.limit_s = limit_s
        self._clock = clock
        self.down_since: float | None = None
        self.failures = 0
        self.outages = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, error: StoreError) -> float:
        """Record a failure; returns how long to wait before trying again. Raises the error when
        the outage has lasted past the limit, or at once when waiting cannot fix it (a cluster
        refusing our credentials: bad configuration, not an outage)."""
        if not error.transient:
            raise error
        now = self._clock()
        if self.down_since is None:
            self.down_since = now
            self.outages += 1
            log.warning("store_outage_started", store=self.name, error=error.message)
            metrics.STORE_UP.labels(store=self.name).set(0)
        self.failures += 1
        if self.limit_s is not None and now - self.down_since > self.limit_s:
            log.error("store_outage_limit", store=self.name, after_s=round(now - self.down_since, 1))
            raise error
        wait = min(self.max_s, self.base_s * 2.0 ** min(self.failures - 1, 20))
        return wait * (0.5 + random.random() / 2)  # jitter: processes do not retry in step

    def recovered(self) -> None:
        if self.down_since is None:
            return
        log.warning(
            "store_outage_ended",
            store=self.name,
            after_s=round(self._clock() - self.down_since, 1),
            attempts=self.failures,
        )
        metrics.STORE_UP.labels(store=self.name).set(1)
        metrics.STORE_OUTAGES.labels(store=self.name).inc()
        self.down_since = None
        self.failures = 0

    def call(self, operation: Callable[[], T], sleep: Callable[[float], object] = time.sleep) -> T:
        """``operation()``, tried again through an outage until it succeeds (or the limit)."""
        while True:
            try:
                result = operation()
            except StoreError as exc:
                sleep(self.failed(exc))
                continue
            self.recovered()
            return result
