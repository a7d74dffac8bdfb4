"""Property-based fuzzing of everything that reads what strangers write: any input gives a result
or one of our errors, never another exception, within a time bound. CI runs a bounded number of
examples; ``python bench/fuzz.py`` runs many more and reports what it tried."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from newscrawl.core.errors import NewscrawlError
from tests.fuzz_targets import TARGETS


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_hostile_input_gives_a_result_or_our_error(name: str) -> None:
    target, strategy = TARGETS[name]

    @settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(strategy)
    def check(data: Any) -> None:
        with contextlib.suppress(NewscrawlError):
            target(data)

    check()
