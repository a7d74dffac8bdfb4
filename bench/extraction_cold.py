"""Extraction CPU as a harness that knows nothing of newscrawl's internals measures it; prints JSON.

``bench/extraction.py`` measures steady-state CPU per page: both extractors warmed, then the
pages interleaved in alternating order. A harness written by someone else does less: it starts a
process, imports both, and times each page's two extractions in a fixed order. Whatever the
shared libraries build on first use (dateparser's locales and time-zone patterns, jusText's
stoplist set) is then billed to the side that happens to reach it first. This runs that harness
in a fresh process per corpus and per order (newscrawl first, trafilatura first), on all the
corpus's pages and on each third of them (a held-out third is about that size), and reports
the ratios.

Usage: python bench/extraction_cold.py [--corpus NAME ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ("scrapinghub-aeb", "fundus")
ORDERS = ("newscrawl", "trafilatura")


def child(corpus: str, first: str, third: int | None) -> dict[str, Any]:
    """One cold harness: imports, then each page by both in a fixed order; nothing warmed."""
    sys.path.insert(0, str(ROOT))
    from bench.extraction import _trafilatura, extract, load_pages

    pages = load_pages(corpus)
    if third is not None:
        pages = pages[third::3]
    sides = {"newscrawl": extract, "trafilatura": _trafilatura}
    order = [first, *(side for side in ORDERS if side != first)]
    spent = dict.fromkeys(ORDERS, 0.0)
    for page in pages:
        for side in order:
            start = time.process_time()
            sides[side](page["html"], page["url"])
            spent[side] += time.process_time() - start
    return {
        "newscrawl_ms_per_page": round(1000 * spent["newscrawl"] / len(pages), 2),
        "trafilatura_ms_per_page": round(1000 * spent["trafilatura"] / len(pages), 2),
        "ratio": round(spent["newscrawl"] / spent["trafilatura"], 3),
    }


def _fresh(corpus: str, first: str, third: int | None) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", corpus, first, "" if third is None else str(third)]
    done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", choices=CORPORA)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        corpus, first, third = args.child
        print(json.dumps(child(corpus, first, int(third) if third else None)))
        return
    report: dict[str, Any] = {}
    for corpus in args.corpus or CORPORA:
        runs = {}
        for first in ORDERS:
            runs[f"{first}_first"] = _fresh(corpus, first, None)
            runs[f"{first}_first_thirds"] = [_fresh(corpus, first, third)["ratio"] for third in range(3)]
        report[corpus] = runs
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
