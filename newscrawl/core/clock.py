"""Wall-clock time that every process of a distributed crawl agrees on.

The frontier's due times, leases and politeness gaps are absolute times written by one process
(the scheduler leases, a worker reports a fetch, another worker's heartbeat renews) and compared
by another. Each machine's own clock would let their skew leak into those comparisons: a worker
whose clock runs a minute behind renews leases that the scheduler already finds expired, and one
that runs ahead pushes a host's next fetch into the future. So the distributed frontier counts in
the Redis server's clock: :class:`ServerClock` learns this process's offset from it (``TIME``,
corrected by half the round trip) and adds it to the local clock, asking again now and then
rather than on every reading.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from newscrawl.core.errors import StoreError
from newscrawl.core.log import get_logger

log = get_logger("newscrawl.clock")

# Clocks drift by well under a millisecond a minute; a store outage only delays the next check.
_RESYNC_S = 60.0
_RETRY_S = 5.0
# An answer slower than this says little about when the server read its clock.
_MAX_ROUND_TRIP_S = 0.5


class ServerClock:
    """``time.time()`` as the Redis server would answer it, without a round trip per reading.

    Until the first answer arrives a reading asks Redis and raises :class:`StoreError` when it
    is down (writing local times into the shared frontier is what this class exists to avoid);
    afterwards a failed check keeps the last known offset.
    """

    def __init__(
        self,
        client: Any,
        *,
        resync_s: float = _RESYNC_S,
        local: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = client
        self._resync_s = resync_s
        self._local = local
        self._monotonic = monotonic
        self._offset_s: float | None = None
        self._next_check = 0.0

    @property
    def offset_s(self) -> float | None:
        """Server minus local clock, as last measured (None: not yet)."""
        return self._offset_s

    def __call__(self) -> float:
        if self._monotonic() >= self._next_check:
            self._check()
        assert self._offset_s is not None
        return self._local() + self._offset_s

    def _check(self) -> None:
        try:
            offset, round_trip_s = self._measure()
        except StoreError as exc:
            if self._offset_s is None:
                raise
            self._next_check = self._monotonic() + _RETRY_S
            log.warning("server_clock_check_failed", error=exc.message, offset_s=round(self._offset_s, 3))
            return
        if round_trip_s > _MAX_ROUND_TRIP_S and self._offset_s is not None:
            self._next_check = self._monotonic() + _RETRY_S
            return
        if self._offset_s is None or abs(offset - self._offset_s) > 1.0:
            log.info("server_clock_offset", offset_s=round(offset, 3))
        self._offset_s = offset
        self._next_check = self._monotonic() + self._resync_s

    def _measure(self) -> tuple[float, float]:
        """The offset and the round trip it was measured over."""
        sent = self._local()
        seconds, microseconds = self._redis.time()
        received = self._local()
        return float(seconds) + microseconds / 1e6 - (sent + received) / 2, received - sent
