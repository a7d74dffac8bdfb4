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
    "extraction_cold",
    "freshness",
    "frontier_memory",
    "fuzz",
    "indexer",
    "pipeline_quality",
    "sections",
    "serve_replay",
    "soak",
]


@pytest.mark.parametrize("name", BENCHES)
def test_bench_script_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(module.main)


def test_cross_validation_scores_a_rule_on_the_folds_it_was_not_chosen_on() -> None:
    """A variant that helps one publisher only wins in sample, but not under cross-validation:
    held out, that publisher is scored with what the others chose."""
    from bench.crossval import Page, cross_validate

    pages = [Page("fundus", group, b"", "") for group in ("a", "a", "b", "c")]
    table = {
        "default": [{"title": 0.0}, {"title": 1.0}, {"title": 1.0}, {"title": 1.0}],
        "fits-a": [{"title": 1.0}, {"title": 1.0}, {"title": 0.0}, {"title": 1.0}],
    }
    result = cross_validate(pages, table, "fundus", "title")
    assert result["default"] == 0.75
    assert result["in_sample_best"]["score"] == 0.75  # ties go to the default
    # Holding out a: b and c prefer the default (fits-a loses b), which scores 0 and 1 on a;
    # holding out b: a and c prefer fits-a, which scores 0 on b; holding out c: a tie, so the
    # default, which scores 1 on c.
    assert result["chosen_in_folds"] == {"default": 2, "fits-a": 1}
    assert result["cross_validated"] == 0.5


def test_cross_validation_credits_no_rule_for_the_one_publisher_it_helps() -> None:
    """Where the training folds cannot tell a rule (or an entry of its list) from its absence, it
    has not earned its place: the held-out publisher it alone helps is scored without it. A moved
    threshold that scores the same is no simpler than the default and does not displace it."""
    from bench.crossval import Page, cross_validate

    pages = [Page("fundus", group, b"", "") for group in ("a", "b", "c")]
    for simpler in ("helps_a=off", "related_headings=without see also"):
        table = {
            "default": [{"title": 1.0}, {"title": 1.0}, {"title": 1.0}],
            "threshold=2": [{"title": 1.0}, {"title": 1.0}, {"title": 1.0}],
            simpler: [{"title": 0.0}, {"title": 1.0}, {"title": 1.0}],
        }
        result = cross_validate(pages, table, "fundus", "title")
        # Holding out a: on b and c the rule changes nothing, so it goes, and a scores 0.
        assert result["chosen_in_folds"] == {"default": 2, simpler: 1}
        assert result["cross_validated"] == round(2 / 3, 4)
        assert result["in_sample_best"]["variant"] == "default"
