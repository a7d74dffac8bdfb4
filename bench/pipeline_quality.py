"""Extraction quality as a user gets it: through the crawl, and through ``newscrawl extract FILE``;
prints JSON.

``bench/extraction.py`` scores the extraction function on each page. A user gets an article
another way: the crawl has to find it (from a home page, a feed or a sitemap), fetch it, extract
it, deduplicate it (repeated blocks of its host stripped) and index it; or ``newscrawl extract``
reads a saved file with no address. This scores, on the same pages, side by side:

- ``crawl``: ``newscrawl crawl --until-idle`` over the replay web (``bench/serve_replay.py``),
  then ``newscrawl export``; a page the crawl never indexed scores zero;
- ``extract_url``: the extraction function with the page's address (what the crawl runs);
- ``extract_file``: ``newscrawl extract FILE...`` on the saved files, no ``--url``.

Fields: aeb body F1; fundus body F1, title accuracy, authors F1, published time (same instant
within 60 s); with the same metrics as ``bench/extraction.py``. Mixes: "rich" (every host with a
home page, a section page, a feed and a news sitemap) and "lean" (one source per host, a third
of them a home page alone: there the address of a link has to say it is a story).

Usage: python bench/pipeline_quality.py [--mixes rich,lean]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.extraction import (  # noqa: E402
    _norm,
    _visible,
    body_scores,
    date_match,
    extract,
    names_f1,
)
from tests.conftest import corpora_path  # noqa: E402
from tests.replay import ReplayPage, load_corpus_pages  # noqa: E402

NEWSCRAWL = [sys.executable, "-m", "newscrawl", "--log-level", "ERROR"]


def _truth_body(page: ReplayPage) -> str:
    if page.corpus == "aeb":
        return str(page.truth["articleBody"])
    return "\n".join(page.truth["body_paragraphs"])


def _html(page: ReplayPage) -> bytes:
    raw = Path(page.source).read_bytes()
    return gzip.decompress(raw) if page.source.endswith(".gz") else raw


def crawled(mix: str, tmp: Path) -> dict[str, dict[str, Any]]:
    """Every indexed document by each address it was seen at, after one pass over the mix."""
    server = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "serve_replay.py"), str(tmp / f"{mix}.toml"), mix],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    data = tmp / f"data-{mix}"
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        crawl = ["crawl", "--outlets", info["outlets"], "--proxy", info["proxy"], "--data", str(data)]
        subprocess.run([*NEWSCRAWL, *crawl, "--until-idle", "--quiet"], check=True, capture_output=True)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)
    exported = subprocess.run(
        [*NEWSCRAWL, "export", "--data", str(data)], check=True, capture_output=True, text=True
    )
    by_url: dict[str, dict[str, Any]] = {}
    for line in exported.stdout.splitlines():
        doc = json.loads(line)
        for url in [doc["url"], *doc.get("also_seen_at", [])]:
            by_url[url] = doc
    return by_url


def extracted_files(pages: list[ReplayPage]) -> dict[str, dict[str, Any]]:
    """``newscrawl extract FILE...`` (no --url), one process, by the page's address."""
    done = subprocess.run(
        [*NEWSCRAWL, "extract", "--jsonl", *(p.source for p in pages)],
        capture_output=True,
        text=True,
        check=False,  # exit status 1 when a page fails: its error object is scored as nothing
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return {p.url: row for p, row in zip(pages, rows, strict=True)}


def _as_fields(doc: dict[str, Any] | None) -> dict[str, Any]:
    doc = doc or {}
    return {
        "body": doc.get("body") or "",
        "title": doc.get("title"),
        "authors": doc.get("authors") or [],
        "published_at": doc.get("published_at"),
    }


def _direct(page: ReplayPage) -> dict[str, Any]:
    article = extract(_html(page), page.url)
    if article is None:
        return _as_fields(None)
    published = article.published_at.isoformat() if article.published_at else None
    return _as_fields({**vars(article), "published_at": published})


def score(pages: list[ReplayPage], fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for corpus in ("aeb", "fundus"):
        chosen = [p for p in pages if p.corpus == corpus]
        got = [fields[p.url] for p in chosen]
        scores: dict[str, Any] = {
            "pages": len(chosen),
            "missing": sum(1 for g in got if not g["body"]),
            "body_f1": body_scores(
                [(_visible(g["body"]), _visible(_truth_body(p))) for p, g in zip(chosen, got, strict=True)]
            )["f1"],
        }
        if corpus == "fundus":
            pairs = list(zip(chosen, got, strict=True))
            scores["title"] = round(
                sum(_norm(g["title"]) == _norm(str(p.truth["title"])) for p, g in pairs) / len(pairs), 4
            )
            scores["authors_f1"] = round(
                sum(names_f1(g["authors"], list(p.truth["authors"])) for p, g in pairs) / len(pairs),
                4,
            )
            stamps = [
                (
                    datetime.fromisoformat(g["published_at"]) if g["published_at"] else None,
                    p.truth.get("publishing_date"),
                )
                for p, g in pairs
            ]
            scores["published_time"] = round(sum(date_match(s, t)[0] for s, t in stamps) / len(stamps), 4)
        result[corpus] = scores
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", default="rich,lean")
    args = parser.parse_args()
    pages = sorted(load_corpus_pages(corpora_path()).values(), key=lambda p: p.url)
    report: dict[str, Any] = {
        "extract_url": score(pages, {p.url: _direct(p) for p in pages}),
        "extract_file": score(pages, {u: _as_fields(d) for u, d in extracted_files(pages).items()}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for mix in args.mixes.split(","):
            docs = crawled(mix, Path(tmp))
            report[f"crawl_{mix}"] = score(pages, {p.url: _as_fields(docs.get(p.url)) for p in pages})
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("NEWSCRAWL_POLITENESS__MIN_DELAY_MS", "0")
    main()
