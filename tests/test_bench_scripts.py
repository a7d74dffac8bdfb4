"""The benchmarks import against the current code (they run outside CI, so nothing else would notice)."""

from __future__ import annotations

import importlib

import pytest

BENCHES = [
    "compose_stack",
    "crawl",
    "dedup",
    "distributed",
    "extraction",
    "freshness",
    "frontier_memory",
    "fuzz",
    "indexer",
    "serve_replay",
    "soak",
]


@pytest.mark.parametrize("name", BENCHES)
def test_bench_script_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(module.main)
