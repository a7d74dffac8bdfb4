"""A machine whose clock is wrong, for one test subprocess (a fault no real part makes on demand).

A test puts this directory first on the subprocess's ``PYTHONPATH`` and sets
``NEWSCRAWL_TEST_CLOCK_SKEW_S``; Python imports this module before anything else, so every later
reading of the wall clock in that process (``time.time``, ``time.time_ns``) runs that many seconds
off, as on a machine that missed its NTP sync. Monotonic clocks are left alone, as NTP leaves them.
"""

from __future__ import annotations

import os
import time

_SKEW_S = float(os.environ.get("NEWSCRAWL_TEST_CLOCK_SKEW_S", "0") or 0)

if _SKEW_S:
    _wall, _wall_ns = time.time, time.time_ns

    def _skewed() -> float:
        return _wall() + _SKEW_S

    def _skewed_ns() -> int:
        return _wall_ns() + int(_SKEW_S * 1e9)

    time.time = _skewed
    time.time_ns = _skewed_ns
