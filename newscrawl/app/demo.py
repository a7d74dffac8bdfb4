"""A generated local news web for ``newscrawl demo``: no services, no internet.

Four outlets with home and section pages whose teaser blocks repeat, RSS feeds, Google News
sitemaps, robots.txt with a Crawl-delay and a disallowed path, a wire story syndicated verbatim
on three outlets, and an aggregator that republishes an article under a "Related articles"
block carrying other articles' text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

from newscrawl.app.localweb import LocalWeb, Resource

_WORDS = (
    "council",
    "budget",
    "river",
    "harbour",
    "election",
    "minister",
    "school",
    "hospital",
    "station",
    "market",
    "storm",
    "festival",
    "museum",
    "court",
    "bridge",
    "railway",
    "energy",
    "housing",
    "farmers",
    "students",
    "police",
    "mayor",
    "harvest",
    "concert",
    "league",
    "coast",
    "tunnel",
    "library",
    "vaccine",
    "drought",
    "summit",
    "port",
    "factory",
    "airline",
    "reform",
    "tax",
    "union",
    "village",
    "forest",
    "research",
    "climate",
    "startup",
    "bank",
    "record",
    "season",
    "trial",
    "report",
    "inquiry",
    "plan",
    "vote",
    "strike",
    "tourism",
    "data",
)
_VERBS = (
    "approves",
    "rejects",
    "delays",
    "opens",
    "closes",
    "plans",
    "reviews",
    "expands",
    "cuts",
    "funds",
    "warns",
    "celebrates",
)
_FILLER = (
    "officials said on {day} that the decision followed months of debate",
    "residents who spoke to reporters described mixed feelings about the {w1} and the {w2}",
    "the {w1} had been discussed since the spring, when a first draft reached the {w2}",
    "critics argue that the {w1} will cost more than planned and burden the {w2}",
    "supporters point to similar projects elsewhere, where the {w1} improved the {w2}",
    "a spokesperson declined to say when a final answer on the {w1} would come",
    "figures published this week show the {w1} grew faster than the {w2} last year",
    "the opposition called for an independent review of the {w1} before any vote",
)

OUTLETS = (
    ("Harbour Herald", "harbour-herald.example", "en"),
    ("Valley Courier", "valley-courier.example", "en"),
    ("Nordstadt Anzeiger", "nordstadt-anzeiger.example", "de"),
    ("Metro Digest", "metro-digest.example", "en"),  # the aggregator
)
WIRE_HOSTS = ("harbour-herald.example", "valley-courier.example", "nordstadt-anzeiger.example")


@dataclass
class DemoArticle:
    host: str
    slug: str
    title: str
    paragraphs: list[str]
    published: datetime
    section: str
    author: str
    canonical: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}/{self.section}/{self.slug}"


def _sentence(rng: random.Random, day: str) -> str:
    text = rng.choice(_FILLER).format(day=day, w1=rng.choice(_WORDS), w2=rng.choice(_WORDS))
    return text[0].upper() + text[1:] + "."


def _article(rng: random.Random, host: str, index: int, now: datetime) -> DemoArticle:
    subject, verb, obj = rng.choice(_WORDS), rng.choice(_VERBS), rng.choice(_WORDS)
    title = f"{subject.capitalize()} {verb} {obj} plan after {rng.choice(_WORDS)} talks"
    published = now - timedelta(hours=index * 3 + rng.randint(0, 2))
    day = published.strftime("%A")
    paragraphs = [
        " ".join(_sentence(rng, day) for _ in range(rng.randint(3, 5))) for _ in range(rng.randint(5, 8))
    ]
    slug = f"{subject}-{verb}-{obj}-plan-{index}-{rng.randint(1000, 9999)}"
    section = rng.choice(("news", "politics", "business"))
    first = rng.choice(["Ana", "Ben", "Chloe", "Dev", "Eva", "Femi"])
    author = f"{first} {rng.choice(['Lind', 'Okafor', 'Berg', 'Ruiz'])}"
    return DemoArticle(host, slug, title, paragraphs, published, section, author)


def _page(title: str, body: str, lang: str, head: str = "") -> bytes:
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"{head}</head><body><header><nav><a href='/'>Home</a> <a href='/news/'>News</a> "
        f"<a href='/business/'>Business</a></nav></header>{body}"
        "<footer><p>© Demo Media Group. All rights reserved. Privacy · Imprint · Contact</p></footer>"
        "</body></html>"
    ).encode()


def _article_page(a: DemoArticle, lang: str, site: str, related: list[DemoArticle] | None = None) -> bytes:
    paras = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
    canonical = a.canonical or a.url
    head = (
        f"<link rel='canonical' href='{canonical}'><meta property='og:type' content='article'>"
        f"<meta property='og:title' content='{escape(a.title)}'>"
        f"<meta property='og:site_name' content='{site}'>"
        f"<meta property='article:published_time' content='{a.published.isoformat()}'>"
        f"<meta name='author' content='{a.author}'>"
    )
    extra = ""
    if related:
        cards = "".join(
            f"<div class='related-item'><h3><a href='{r.url}'>{escape(r.title)}</a></h3>"
            + "".join(f"<p>{escape(p)}</p>" for p in r.paragraphs)
            + "</div>"
            for r in related
        )
        extra = f"<section class='related'><h2>Related articles</h2>{cards}</section>"
    body = (
        f"<main><article><h1>{escape(a.title)}</h1><p class='byline'>By {a.author}</p>"
        f"<time datetime='{a.published.isoformat()}'></time>{paras}</article>{extra}</main>"
    )
    return _page(a.title, body, lang, head)


def _teaser(a: DemoArticle) -> str:
    return (
        f"<article class='teaser'><h2><a href='{a.url}'>{escape(a.title)}</a></h2>"
        f"<p>{escape(a.paragraphs[0][:140])}…</p></article>"
    )


def _listing(title: str, items: list[DemoArticle], most_read: list[DemoArticle], lang: str) -> bytes:
    block = "".join(f"<li><a href='{a.url}'>{escape(a.title)}</a></li>" for a in most_read)
    body = (
        f"<main><h1>{escape(title)}</h1>{''.join(_teaser(a) for a in items)}</main>"
        f"<aside><h2>Most read</h2><ol>{block}</ol></aside>"
        "<p><a href='/private/drafts-and-embargoed-stories-list'>Staff</a></p>"
    )
    return _page(title, body, lang)


def _rss(name: str, host: str, items: list[DemoArticle]) -> bytes:
    entries = "".join(
        f"<item><title>{escape(a.title)}</title><link>{a.url}</link>"
        f"<pubDate>{format_datetime(a.published)}</pubDate></item>"
        for a in items
    )
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{escape(name)}</title>"
        f"<link>http://{host}/</link>{entries}</channel></rss>"
    ).encode()


def _news_sitemap(name: str, lang: str, items: list[DemoArticle]) -> bytes:
    urls = "".join(
        f"<url><loc>{a.url}</loc><news:news><news:publication><news:name>{escape(name)}</news:name>"
        f"<news:language>{lang}</news:language></news:publication>"
        f"<news:publication_date>{a.published.isoformat()}</news:publication_date>"
        f"<news:title>{escape(a.title)}</news:title></news:news></url>"
        for a in items
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
        f"xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>{urls}</urlset>"
    ).encode()


def build_demo_web(seed: int = 7, articles_per_outlet: int = 10) -> tuple[LocalWeb, str]:
    """The demo web and its outlets file (TOML text)."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    web = LocalWeb()
    by_host: dict[str, list[DemoArticle]] = {}
    for _name, host, _lang in OUTLETS:
        by_host[host] = [_article(rng, host, i, now) for i in range(articles_per_outlet)]
    wire = _article(rng, WIRE_HOSTS[0], 99, now)
    wire.title = "Storm closes harbour as ferries halt service"
    wire.section = "news"
    for host in WIRE_HOSTS[1:]:
        copy = DemoArticle(
            host,
            wire.slug,
            wire.title,
            list(wire.paragraphs),
            wire.published,
            "news",
            wire.author,
            canonical=wire.url,
        )
        by_host[host].append(copy)
    by_host[WIRE_HOSTS[0]].append(wire)
    aggregator = OUTLETS[3][1]
    original = by_host[WIRE_HOSTS[1]][0]
    repub = DemoArticle(
        aggregator,
        "republished-" + original.slug,
        original.title,
        list(original.paragraphs),
        original.published + timedelta(hours=2),  # aggregators republish later
        "news",
        original.author,
    )
    related = [by_host[WIRE_HOSTS[2]][1], by_host[WIRE_HOSTS[0]][2]]
    toml_lines = []
    for name, host, lang in OUTLETS:
        items = sorted(by_host[host], key=lambda a: a.published, reverse=True)
        for a in items:
            web.add(a.url, Resource(_article_page(a, lang, name)))
        if host == aggregator:
            web.add(repub.url, Resource(_article_page(repub, lang, name, related)))
            items = [repub, *items]
        most_read = items[:4]
        web.add(f"http://{host}/", Resource(_listing(name, items[:8], most_read, lang)))
        for section in ("news", "business"):
            chosen = [a for a in items if a.section == section] or items[:3]
            web.add(
                f"http://{host}/{section}/", Resource(_listing(f"{name}: {section}", chosen, most_read, lang))
            )
        web.add(
            f"http://{host}/feed.xml", Resource(_rss(name, host, items), content_type="application/rss+xml")
        )
        web.add(
            f"http://{host}/news-sitemap.xml",
            Resource(_news_sitemap(name, lang, items), content_type="application/xml"),
        )
        web.add(
            f"http://{host}/robots.txt",
            Resource(b"User-agent: *\nCrawl-delay: 0.2\nDisallow: /private/\n", content_type="text/plain"),
        )
        toml_lines.append(
            f'[[outlet]]\nname = "{name}"\nurls = ["http://{host}/", "http://{host}/news/", '
            f'"http://{host}/business/"]\nfeeds = ["http://{host}/feed.xml"]\n'
            f'sitemaps = ["http://{host}/news-sitemap.xml"]\nlanguage = "{lang}"\n'
        )
    return web, "\n".join(toml_lines)
