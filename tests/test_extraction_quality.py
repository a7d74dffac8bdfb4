"""Extraction quality on the corpora must not fall more than 0.01 below the recorded figures.

The figures live in bench/extraction-baseline.json; raise them there when extraction improves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.extraction import evaluate_aeb, evaluate_fundus, load_pages

BASELINE = json.loads(
    (Path(__file__).resolve().parent.parent / "bench" / "extraction-baseline.json").read_text()
)
TOLERANCE = 0.01


@pytest.fixture(scope="module")
def scores(corpora: Path) -> dict[str, dict[str, float]]:
    aeb = evaluate_aeb(load_pages("scrapinghub-aeb"))["newscrawl"]
    fundus = evaluate_fundus(load_pages("fundus"))
    return {
        "scrapinghub-aeb": {
            "body_precision": aeb["precision"],
            "body_recall": aeb["recall"],
            "body_f1": aeb["f1"],
        },
        "fundus": {
            "title_accuracy": fundus["title_accuracy"],
            "authors_f1": fundus["authors_f1"],
            "published_accuracy": fundus["published_accuracy"],
            "body_f1": fundus["body"]["f1"],
            "language_accuracy": fundus["language_accuracy"],
        },
    }


@pytest.mark.parametrize("corpus, metric", [(c, m) for c, ms in BASELINE.items() for m in ms])
def test_no_regression(scores: dict[str, dict[str, float]], corpus: str, metric: str) -> None:
    recorded = BASELINE[corpus][metric]
    assert scores[corpus][metric] >= recorded - TOLERANCE, (
        f"{corpus} {metric}: {scores[corpus][metric]} < {recorded}"
    )
