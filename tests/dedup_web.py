"""A web with duplicate groups known by construction, on top of the replay web.

For each of a set of fundus stories (whose own saved pages are left out), pages are generated
from the ground-truth paragraphs: the original on an origin outlet; verbatim syndicated copies on
wire outlets (one with a cross-host rel=canonical to the original, one without), each wire page
carrying the wire's own repeated boilerplate paragraph; a lightly edited copy (new headline, a
paragraph dropped or added, other furniture); and, for every other story, an aggregator
republication under a related-articles block holding two other stories' full text. The replay
web's saved pages are the distinct articles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from newscrawl.app.localweb import LocalWeb, Resource
from newscrawl.core.urls import normalize_url
from tests.replay import as_http, build_replay_web

RELATED_HEADINGS = ("Related articles", "Mehr zum Thema", "Read more", "À lire aussi")
WIRE_NOTE = "This story was distributed by {wire}. Reproduction without a licence is prohibited."


@dataclass
class DedupWeb:
    web: LocalWeb
    outlets_first: str  # TOML: origin outlets and half the replay hosts
    outlets_second: str  # TOML: wire, edited and aggregator outlets and the other replay hosts
    groups: dict[str, str]  # page URL -> group id (distinct pages are their own group)
    related: dict[str, list[str]]  # aggregator page URL -> paragraphs of its related-articles block


def _page(
    host: str,
    title: str,
    paragraphs: list[str],
    *,
    published: datetime | None,
    furniture: int,
    canonical: str | None = None,
    extra: str = "",
    lang: str = "de",
) -> bytes:
    head = f"<title>{escape(title)}</title><meta property='og:type' content='article'>"
    if published is not None:
        head += f"<meta property='article:published_time' content='{published.isoformat()}'>"
    if canonical:
        head += f"<link rel='canonical' href='{escape(canonical)}'>"
    navs = [
        "<nav><a href='/'>Start</a> <a href='/politik/'>Politik</a></nav>",
        "<header><div class='brand'>News</div><ul><li><a href='/'>Home</a></li></ul></header>",
        "<div id='top'><a href='/'>Front page</a> | <a href='/world/'>World</a></div>",
    ]
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>{head}</head><body>"
        f"{navs[furniture % 3]}<main><article><h1>{escape(title)}</h1>{body}{extra}</article></main>"
        f"<footer><p>© {escape(host)} {furniture}</p></footer></body></html>"
    ).encode()


def _published(row: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(row["publishing_date"])
    except (TypeError, ValueError):
        return None


def _outlet(host: str) -> str:
    return f'[[outlet]]\nname = "{host}"\nurls = ["http://{host}/"]\nallowed_hosts = ["{host}"]\n'


def build_dedup_web(corpora: Path, stories: int = 16) -> DedupWeb:
    rows = [
        json.loads(x) for x in (corpora / "fundus" / "ground-truth.jsonl").read_text("utf-8").splitlines()
    ]
    rows = [r for r in rows if len(r["body_paragraphs"]) >= 5 and _published(r) is not None]
    rows.sort(key=lambda r: r["page"])
    chosen = rows[:stories]
    extra_pool = rows[stories : stories + 2 * stories]
    web = LocalWeb()
    groups: dict[str, str] = {}
    listings: dict[str, list[tuple[str, str]]] = {}
    related: dict[str, list[str]] = {}

    def add(host: str, path: str, title: str, body: bytes, group: str) -> None:
        url = normalize_url(f"http://{host}{path}")
        web.add(url, Resource(body))
        groups[url] = group
        listings.setdefault(host, []).append((url, title))

    for i, row in enumerate(chosen):
        group = f"story-{i}"
        paragraphs = list(row["body_paragraphs"])
        title = row["title"]
        published = _published(row)
        assert published is not None
        slug = f"story-{i}-" + "-".join(title.lower().split()[:4]).replace("/", "")
        origin = f"origin-{i % 4}.example"
        original_url = normalize_url(f"http://{origin}/news/{slug}")
        add(
            origin,
            f"/news/{slug}",
            title,
            _page(origin, title, paragraphs, published=published, furniture=0),
            group,
        )
        for w in (1, 2):
            wire = f"wire-{w}.example"
            note = f"<p>{escape(WIRE_NOTE.format(wire=wire))}</p>"
            add(
                wire,
                f"/{w}/{slug}",
                title,
                _page(
                    wire,
                    title,
                    paragraphs,
                    published=published + timedelta(hours=w),
                    furniture=w,
                    canonical=original_url if w == 1 else None,
                    extra=note,
                ),
                group,
            )
        edited = list(paragraphs)
        if i % 2:
            edited.append("Update: the authorities confirmed the details in a statement released later on.")
        else:
            del edited[len(edited) // 2]
        add(
            "edited.example",
            f"/e/{slug}",
            f"UPDATE: {title}",
            _page(
                "edited.example",
                f"UPDATE: {title}",
                edited,
                published=published + timedelta(hours=5),
                furniture=2,
            ),
            group,
        )
        if i % 2 == 0:
            others = extra_pool[i : i + 2]
            heading = RELATED_HEADINGS[(i // 2) % len(RELATED_HEADINGS)]
            cards = "".join(
                f"<div><h3><a href='{escape(as_http(o['url']))}'>{escape(o['title'])}</a></h3>"
                + "".join(f"<p>{escape(p)}</p>" for p in o["body_paragraphs"])
                + "</div>"
                for o in others
            )
            related[normalize_url(f"http://aggregator.example/a/{slug}")] = [
                p for o in others for p in o["body_paragraphs"] if len(p) > 60
            ]
            add(
                "aggregator.example",
                f"/a/{slug}",
                title,
                _page(
                    "aggregator.example",
                    title,
                    paragraphs,
                    published=published + timedelta(hours=8),
                    furniture=1,
                    extra=f"<section><h2>{heading}</h2>{cards}</section>",
                ),
                group,
            )

    for host, items in listings.items():
        links = "".join(f"<li><a href='{escape(u)}'>{escape(t)}</a></li>" for u, t in items)
        web.add(f"http://{host}/", Resource(f"<html><body><ul>{links}</ul></body></html>".encode()))
        web.add(
            f"http://{host}/robots.txt", Resource(b"User-agent: *\nAllow: /\n", content_type="text/plain")
        )

    left_out = frozenset(normalize_url(as_http(r["url"])) for r in chosen)
    replay = build_replay_web(corpora, crawl_delay_every=10_000, exclude=left_out, web=web)
    for url in replay.pages:
        groups[url] = url
    assert not (set(left_out) & set(replay.pages))
    replay_blocks = replay.outlets_toml.split("\n\n[[outlet]]")
    half = len(replay_blocks) // 2
    first_replay = "\n\n[[outlet]]".join(replay_blocks[:half])
    second_replay = "[[outlet]]" + "\n\n[[outlet]]".join(replay_blocks[half:])
    origins = "\n".join(_outlet(f"origin-{k}.example") for k in range(4))
    copies = "\n".join(
        _outlet(h) for h in ("wire-1.example", "wire-2.example", "edited.example", "aggregator.example")
    )
    return DedupWeb(
        web=web,
        outlets_first=origins + "\n" + first_replay,
        outlets_second=copies + "\n" + second_replay,
        groups=groups,
        related=related,
    )
