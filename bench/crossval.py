"""Cross-validation of the extractor's rules: chosen on training folds, scored on held-out ones.

Every rule and threshold of :class:`workers.extract.ExtractionRules` is a variant here (the rule
off, the threshold moved). Each variant extracts every page once; every page then has a score per
field and variant. For each field and each fold (a fundus publisher, an aeb host, a readability
page) the variant that scores best on the *other* folds is chosen and scored on the held-out
fold (among equals, a rule switched off: a rule that helps only the held-out fold has not earned
its place); the cross-validated figure gathers those held-out scores. Beside it: the default rules on
all pages (the "train" figure: the rules were written looking at these pages), the in-sample best
variant, and each variant's delta to the default on every corpus, so a rule that does not help
under cross-validation shows as one to delete.

Three page sets: scrapinghub-aeb (leave one host out), fundus (leave one publisher out) and
readability's pages that have a byline or a published time and at least 300 words of expected
text (leave one page out; the expected text is Readability.js's approved output, not a person's).

A fourth, optional: an independent news corpus nobody tuned to, in the layout of
AndyTheFactory/article-extraction-dataset (``articles.json``: {id: {url, site, title, authors,
date, articleBody}}, ``html/<id>.html``), read from the folder ``NEWSCRAWL_INDEPENDENT_CORPUS``
names (leave one site out). Its truth has its own conventions (an outlet alone is no author, a
date is a day), so it checks that a change transfers, not the targets.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bench.extraction import (
    _norm,
    _visible,
    date_match,
    f1_of,
    load_pages,
    names_f1,
    precision_recall,
)
from newscrawl.core.errors import NewscrawlError
from newscrawl.core.urls import host_of
from tests.conftest import corpora_path
from workers.charset import decode_body
from workers.extract import DEFAULT_RULES, Article, ExtractionRules, extract_article, parse_datetime
from workers.parse import classify_html, parse_html

READABILITY_URL = "http://fakehost/test/page.html"  # the base URL readability's own tests use
_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(?:p|div|h[1-6]|li|blockquote|pre|tr|section|article)>", re.IGNORECASE)


@dataclass
class Page:
    corpus: str
    group: str  # the fold: a host, a publisher, a page
    html: bytes
    url: str
    truth: dict[str, Any] = field(default_factory=dict)


def _readability_text(expected_html: str) -> str:
    return html.unescape(_TAG.sub(" ", _BLOCK_END.sub("\n", expected_html)))


_BY = re.compile(r"^\s*(?:by|von|par)\s+", re.IGNORECASE)
_AFTER_SEPARATOR = re.compile(r"\s*[|•·]\s*.*$", re.DOTALL)
_NAME_SPLIT = re.compile(r"\s*(?:,|\band\b|&)\s*")


def byline_names(byline: str) -> list[str]:
    """Readability's byline string as names: "By A and B | Site" -> [A, B]. Approximate (its
    bylines are strings, some with dates or roles in them), and the same for every variant."""
    text = _AFTER_SEPARATOR.sub("", _BY.sub("", byline.strip()))
    return [" ".join(name.split()) for name in _NAME_SPLIT.split(text) if name.strip()]


def load_all() -> list[Page]:
    pages = [
        Page("aeb", host_of(p["url"]).removeprefix("www."), p["html"], p["url"], {"body": p["body"]})
        for p in load_pages("scrapinghub-aeb")
    ]
    pages += [
        Page(
            "fundus",
            p["publisher"],
            p["html"],
            p["url"],
            {
                "title": p["title"],
                "authors": p["authors"],
                "date": p.get("publishing_date"),
                "body": "\n".join(p["body_paragraphs"]),
            },
        )
        for p in load_pages("fundus")
    ]
    root = corpora_path() / "readability" / "test" / "test-pages"
    for case in sorted(root.iterdir()):
        meta = json.loads((case / "expected-metadata.json").read_text("utf-8"))
        text = _readability_text((case / "expected.html").read_text("utf-8"))
        if (meta.get("byline") or meta.get("publishedTime")) and len(text.split()) >= 300:
            truth: dict[str, Any] = {"title": meta.get("title") or "", "body": text}
            if meta.get("byline"):
                truth["authors"] = byline_names(meta["byline"])
            pages.append(
                Page("readability", case.name, (case / "source.html").read_bytes(), READABILITY_URL, truth)
            )
    return pages + load_independent()


def load_independent() -> list[Page]:
    """The optional independent corpus (module docstring); none when the variable is unset."""
    folder = os.environ.get("NEWSCRAWL_INDEPENDENT_CORPUS")
    if not folder:
        return []
    root = Path(folder)
    pages = []
    for key, row in json.loads((root / "articles.json").read_text("utf-8")).items():
        page = root / "html" / f"{key}.html"
        if not page.exists():  # the repository's largest pages may be absent from a copy
            continue
        truth = {
            "title": row["title"],
            "authors": [a.strip() for a in row["authors"].split(",") if a.strip()],
            "day": row["date"][:10],
            "body": row["articleBody"],
        }
        pages.append(
            Page(
                "independent", host_of(row["url"]).removeprefix("www."), page.read_bytes(), row["url"], truth
            )
        )
    return pages


def variants(lists: bool = False) -> dict[str, ExtractionRules]:
    """The default rules, each rule switched off, each threshold moved; with ``lists``, also each
    entry of a rule's list (a related-block heading, a class token) dropped."""
    out = {"default": DEFAULT_RULES}
    for f in fields(ExtractionRules):
        value = getattr(DEFAULT_RULES, f.name)
        if isinstance(value, bool):
            out[f"{f.name}={'off' if value else 'on'}"] = replace(DEFAULT_RULES, **{f.name: not value})
        elif isinstance(value, tuple) and lists:
            for entry in value:
                rest = tuple(e for e in value if e != entry)
                out[f"{f.name}=without {entry}"] = replace(DEFAULT_RULES, **{f.name: rest})
    moved: dict[str, Iterable[float]] = {
        "menu_line_chars": (30.0, 40.0, 65.0, 80.0),
        "second_opinion_paragraph_share": (0.2, 0.5, 0.7),
        "related_wrapper_growth": (1.2, 3.0, math.inf),
        "localise_min_share": (0.3, 0.4, 0.6, 0.8),
    }
    for name, values in moved.items():
        for value in values:
            moved_rules: dict[str, Any] = {name: value}
            out[f"{name}={value:g}"] = replace(DEFAULT_RULES, **moved_rules)
    return out


def _extract(page: Page, rules: ExtractionRules) -> Article | None:
    text, _ = decode_body(page.html, None, page.url)
    parsed = parse_html(text, page.url)
    classify_html(parsed, "article")
    try:
        return extract_article(parsed, rules=rules)
    except NewscrawlError:
        return None


def page_scores(page: Page, article: Article | None) -> dict[str, Any]:
    """The page's scores per field: (precision, recall) for bodies, a number for the rest."""
    truth = page.truth
    body = _visible(article.body) if article else ""
    scores: dict[str, Any] = {"body": precision_recall(body, _visible(truth["body"]))}
    if "title" in truth:
        scores["title"] = float(_norm(article.title if article else "") == _norm(truth["title"]))
    if "authors" in truth:
        scores["authors"] = names_f1(article.authors if article else [], truth["authors"])
    if page.corpus == "fundus":
        scores["date"] = float(date_match(article.published_at if article else None, truth["date"])[0])
    if "day" in truth:
        published = article.published_at if article else None
        scores["day"] = float(published is not None and published.date().isoformat() == truth["day"])
    return scores


def _trafilatura(page: Page) -> Article | None:
    """trafilatura alone (``bare_extraction`` with metadata) in newscrawl's terms: the reference."""
    import trafilatura

    text, _ = decode_body(page.html, None, page.url)
    found: Any = trafilatura.bare_extraction(text, url=page.url, with_metadata=True)
    if found is None:
        return None
    date = parse_datetime(found.date) if found.date else None
    authors = [a.strip() for a in (found.author or "").split(";") if a.strip()]
    return Article(
        page.url, page.url, title=found.title, authors=authors, published_at=date, body=found.text or ""
    )


def _score_variant(args: tuple[str, ExtractionRules | None, list[Page]]) -> tuple[str, list[dict[str, Any]]]:
    name, rules, pages = args
    if rules is None:
        return name, [page_scores(p, _trafilatura(p)) for p in pages]
    return name, [page_scores(p, _extract(p, rules)) for p in pages]


def aggregate(values: list[Any]) -> float:
    """Bodies: F1 of the mean precision and mean recall (the aeb metric); others: the mean."""
    if not values:
        return math.nan
    if isinstance(values[0], tuple):
        precision = sum(v[0] for v in values) / len(values)
        recall = sum(v[1] for v in values) / len(values)
        return f1_of(precision, recall)
    return float(sum(values)) / len(values)


def _simplicity(name: str) -> int:
    """How a variant ranks among those that score the same: a rule must earn its place on the
    training folds, so a rule switched off beats the default (a rule that helps only the held-out
    publisher is not credited with it), and the default beats a moved threshold or a rule
    switched on."""
    if name.endswith("=off") or "=without " in name:
        return 2
    return 1 if name == "default" else 0


def cross_validate(
    pages: list[Page], table: dict[str, list[dict[str, Any]]], corpus: str, metric: str
) -> dict[str, Any]:
    """Nested choice: per held-out group, the variant best on the other groups."""
    index = [i for i, p in enumerate(pages) if p.corpus == corpus and metric in table["default"][i]]
    groups: dict[str, list[int]] = defaultdict(list)
    for i in index:
        groups[pages[i].group].append(i)

    def score(name: str, rows: list[int]) -> float:
        return aggregate([table[name][i][metric] for i in rows])

    held_out: list[Any] = []
    chosen: dict[str, int] = defaultdict(int)
    for group, rows in groups.items():
        training = [i for i in index if pages[i].group != group]
        best = max(table, key=lambda name: (round(score(name, training), 6), _simplicity(name)))
        chosen[best] += 1
        held_out += [table[best][i][metric] for i in rows]
    in_sample = max(table, key=lambda name: (round(score(name, index), 6), _simplicity(name)))
    return {
        "pages": len(index),
        "folds": len(groups),
        "default": round(score("default", index), 4),
        "in_sample_best": {"variant": in_sample, "score": round(score(in_sample, index), 4)},
        "cross_validated": round(aggregate(held_out), 4),
        "chosen_in_folds": dict(sorted(chosen.items(), key=lambda kv: -kv[1])),
    }


TRAFILATURA = "trafilatura alone"
METRICS = {
    "aeb": ("body",),
    "fundus": ("body", "title", "authors", "date"),
    "readability": ("body", "title", "authors"),
    "independent": ("body", "title", "authors", "day"),
}


def run(processes: int = 2, only: Callable[[str], bool] | None = None, lists: bool = False) -> dict[str, Any]:
    pages = load_all()
    chosen = {k: v for k, v in variants(lists).items() if only is None or k == "default" or only(k)}
    jobs: list[tuple[str, ExtractionRules | None, list[Page]]] = [(TRAFILATURA, None, pages)]
    jobs += [(name, rules, pages) for name, rules in chosen.items()]
    with get_context("spawn").Pool(processes) as pool:
        table = dict(pool.imap_unordered(_score_variant, jobs))
    reference = table.pop(TRAFILATURA)
    report: dict[str, Any] = {"variants": len(table), "cross_validation": {}, "deltas": {}}
    present = {p.corpus for p in pages}
    for corpus, metrics in METRICS.items():
        if corpus not in present:
            continue
        for metric in metrics:
            key = f"{corpus}.{metric}"
            report["cross_validation"][key] = cross_validate(pages, table, corpus, metric)
            report["cross_validation"][key]["trafilatura_alone"] = round(
                _all(pages, {"default": reference}, "default", key), 4
            )
    for name in table:
        if name == "default":
            continue
        report["deltas"][name] = {
            key: round(_all(pages, table, name, key) - _all(pages, table, "default", key), 4)
            for key in report["cross_validation"]
        }
    return report


def _all(pages: list[Page], table: dict[str, list[dict[str, Any]]], name: str, key: str) -> float:
    corpus, metric = key.split(".")
    rows = [i for i, p in enumerate(pages) if p.corpus == corpus and metric in table[name][i]]
    return aggregate([table[name][i][metric] for i in rows])
