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

With ``NEWSCRAWL_INDEPENDENT_CORPUS`` set (``bench/crossval.py``), the same on the independent
corpus: body F1, title (its ``<h1>`` convention), authors F1 and published day.

Usage: python bench/pipeline_quality.py [--mixes rich,lean]
"""

from __future__ import annotations

import argparse
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
from tests.replay import ReplayPage, _read_page, load_corpus_pages, load_independent_pages  # noqa: E402

NEWSCRAWL = [sys.executable, "-m", "newscrawl", "--log-level", "ERROR"]


def _truth_body(page: ReplayPage) -> str:
    if page.corpus == "fundus":
        return "\n".join(page.truth["body_paragraphs"])
    return str(page.truth["articleBody"])


def independent_pages(folder: Path) -> list[ReplayPage]:
    """The independent corpus's pages as the replay web serves them, their truth completed from
    its ``articles.json`` (body, authors; its title is its ``<h1>``, its date often the wrong
    year, so only the day is scored, as ``bench/crossval.py`` does)."""
    rows = json.loads((folder / "articles.json").read_text("utf-8"))
    pages = list(load_independent_pages(folder).values())
    for page in pages:
        row = rows[Path(page.source).stem]
        page.truth.update(
            articleBody=row["articleBody"],
            authors=[a.strip() for a in row["authors"].split(",") if a.strip()],
            day=row["date"][:10],
        )
    return sorted(pages, key=lambda p: p.url)


def crawled(mix: str, tmp: Path, pages_from: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every indexed document by each address it was seen at, after one pass over the mix (of
    the shared corpora's pages, or of ``pages_from``'s)."""
    name = f"{mix}-{'independent' if pages_from else 'shared'}"
    serve = [sys.executable, str(REPO / "bench" / "serve_replay.py"), str(tmp / f"{name}.toml"), mix]
    server = subprocess.Popen(
        [*serve, *([str(pages_from)] if pages_from else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    data = tmp / f"data-{name}"
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
    article = extract(_read_page(page.source), page.url)
    if article is None:
        return _as_fields(None)
    published = article.published_at.isoformat() if article.published_at else None
    return _as_fields({**vars(article), "published_at": published})


def _share(values: list[float]) -> float:
    return round(sum(values) / len(values), 4)


def score(pages: list[ReplayPage], fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for corpus in dict.fromkeys(p.corpus for p in pages):
        pairs = [(p, fields[p.url]) for p in pages if p.corpus == corpus]
        scores: dict[str, Any] = {
            "pages": len(pairs),
            "missing": sum(1 for _, g in pairs if not g["body"]),
            "body_f1": body_scores([(_visible(g["body"]), _visible(_truth_body(p))) for p, g in pairs])["f1"],
        }
        if corpus != "aeb":
            scores["title"] = _share([_norm(g["title"]) == _norm(str(p.truth["title"])) for p, g in pairs])
            scores["authors_f1"] = _share(
                [names_f1(g["authors"], list(p.truth["authors"])) for p, g in pairs]
            )
        if corpus == "fundus":
            scores["published_time"] = _share(
                [date_match(_stamp(g["published_at"]), p.truth.get("publishing_date"))[0] for p, g in pairs]
            )
        if corpus == "independent":
            scores["published_day"] = _share(
                [(g["published_at"] or "")[:10] == p.truth["day"] for p, g in pairs]
            )
        result[corpus] = scores
    return result


def _stamp(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", default="rich,lean")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    folder = os.environ.get("NEWSCRAWL_INDEPENDENT_CORPUS")
    corpora: list[tuple[str, list[ReplayPage], Path | None]] = [
        ("shared", sorted(load_corpus_pages(corpora_path()).values(), key=lambda p: p.url), None)
    ]
    if folder:
        corpora.append(("independent", independent_pages(Path(folder)), Path(folder)))
    with tempfile.TemporaryDirectory() as tmp:
        for name, pages, pages_from in corpora:
            runs = {
                "extract_url": score(pages, {p.url: _direct(p) for p in pages}),
                "extract_file": score(pages, {u: _as_fields(d) for u, d in extracted_files(pages).items()}),
            }
            for mix in args.mixes.split(","):
                docs = crawled(mix, Path(tmp), pages_from)
                runs[f"crawl_{mix}"] = score(pages, {p.url: _as_fields(docs.get(p.url)) for p in pages})
            report[name] = runs
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("NEWSCRAWL_POLITENESS__MIN_DELAY_MS", "0")
    main()
