"""The clock of one test subprocess, for faults no real part makes on demand.

A test puts this directory first on the subprocess's ``PYTHONPATH``; Python imports this module
before anything else.

- ``NEWSCRAWL_TEST_CLOCK_SKEW_S``: a machine whose clock is wrong. Every later reading of the wall
  clock in that process (``time.time``, ``time.time_ns``) runs that many seconds off, as on a
  machine that missed its NTP sync. Monotonic clocks are left alone, as NTP leaves them.
- ``NEWSCRAWL_TEST_RETRY_WAIT_MAX_S``: an outage longer than it is. kombu waits between
  attempts to reach the broker (2 s, 4 s, ... up to 30 s) in sleeps of at most a second; each
  of them lasts at most that long, so a test outage of seconds is, to Celery, one of hours: a
  hundred attempts and more.
"""

from __future__ import annotations

import os
import time

_SKEW_S = float(os.environ.get("NEWSCRAWL_TEST_CLOCK_SKEW_S", "0") or 0)
_RETRY_WAIT_MAX_S = float(os.environ.get("NEWSCRAWL_TEST_RETRY_WAIT_MAX_S", "0") or 0)

if _SKEW_S:
    _wall, _wall_ns = time.time, time.time_ns

    def _skewed() -> float:
        return _wall() + _SKEW_S

    def _skewed_ns() -> int:
        return _wall_ns() + int(_SKEW_S * 1e9)

    time.time = _skewed
    time.time_ns = _skewed_ns

if _RETRY_WAIT_MAX_S:
    import kombu.utils.functional

    _sleep = time.sleep

    def _hurried(seconds: float) -> None:
        _sleep(min(seconds, _RETRY_WAIT_MAX_S))

    kombu.utils.functional.sleep = _hurried  # what its retry loop (retry_over_time) waits with
