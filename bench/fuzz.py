"""A long fuzz run of every target in tests/fuzz_targets.py; prints JSON.

For each target: examples tried, failures (an exception that is not one of ours, or a deadline
missed) with the smallest failing input hypothesis found, and the slowest example's time.

Usage: python bench/fuzz.py [--examples N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings

from newscrawl.core.errors import NewscrawlError
from tests.fuzz_targets import TARGETS


def fuzz(name: str, examples: int) -> dict[str, Any]:
    target, strategy = TARGETS[name]
    tried, slowest, ours = 0, 0.0, 0

    @settings(max_examples=examples, deadline=5000, suppress_health_check=list(HealthCheck), database=None)
    @given(strategy)
    def check(data: Any) -> None:
        nonlocal tried, slowest, ours
        tried += 1
        started = time.perf_counter()
        try:
            target(data)
        except NewscrawlError:
            ours += 1
        finally:
            slowest = max(slowest, time.perf_counter() - started)

    failure = None
    try:
        check()
    except Exception as exc:  # hypothesis re-raises the shrunk failing example's exception
        failure = f"{type(exc).__name__}: {str(exc)[:500]}"
    return {"tried": tried, "our_errors": ours, "failure": failure, "slowest_s": round(slowest, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=3000)
    args = parser.parse_args()
    results = {name: fuzz(name, args.examples) for name in sorted(TARGETS)}
    summary = {
        "examples_per_target": args.examples,
        "tried": sum(r["tried"] for r in results.values()),
        "failures": sum(1 for r in results.values() if r["failure"]),
        "targets": results,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
