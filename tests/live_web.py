"""The live web: outlets that keep publishing, for the freshness tests and ``bench/freshness.py``.

Built from the text of ``../shared/corpora`` (fundus and scrapinghub-aeb ground truth): each
article joins paragraphs of two corpus articles, so no two are duplicates of each other. Outlets
come in three classes: *bursty* (quiet, then several stories within a minute or two), *steady*
(stories spread evenly with jitter) and *quiet* (one story in a run, or none). Every outlet has a
home page of its latest teasers; most have an RSS feed (latest 20, pubDate; named in the home
page's head) and some a Google News sitemap (last 48 h, ``news:publication_date``; named in
robots.txt, at ``/sitemap.xml``); a few have neither. ETag and Last-Modified are
sent and a conditional request for an unchanged page gets 304 (:class:`LocalWeb`). An article's
URL answers 404 until its release.

:class:`LiveSchedule` is the plan (pure data, times relative to the start of a run), so a test can
drive the frontier through it on a virtual clock; :class:`LiveWeb` serves it over loopback in
real time.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path

from newscrawl.app.localweb import LocalWeb, Resource

HOME_TEASERS = 15
FEED_ITEMS = 20
SITEMAP_WINDOW_S = 48 * 3600.0
CLASSES = ("bursty", "steady", "quiet")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_REVISIONS = ("Update", "Latest", "Revised", "Developing")


@dataclass(frozen=True)
class LiveArticle:
    url: str
    outlet: str
    title: str
    author: str
    paragraphs: tuple[str, ...]
    released_at: float  # seconds from the start of the run; negative: published before it
    # When the newsroom rewrote it (relative seconds, ascending): its sitemap's lastmod moves.
    updated_at: tuple[float, ...] = ()
    # Each rewrite also gives it a new headline, which every source shows (the virtual crawl's).
    retitled: bool = False

    def headline(self, t: float) -> str:
        """Its headline as of ``t``: the first one, or a rewrite's when it is ``retitled``."""
        rewrites = sum(1 for u in self.updated_at if u <= t)
        if not self.retitled or not rewrites:
            return self.title
        return f"{_REVISIONS[(rewrites - 1) % len(_REVISIONS)]}: {self.title}"

    def lastmod(self, t: float) -> float:
        """When it last changed as of ``t``: its release or its latest rewrite by then."""
        return max([self.released_at, *(u for u in self.updated_at if u <= t)])


@dataclass
class LiveOutlet:
    name: str
    host: str
    cls: str
    feed: bool
    sitemap: bool
    crawl_delay_s: float | None = None
    articles: list[LiveArticle] = field(default_factory=list)

    @property
    def home(self) -> str:
        return f"http://{self.host}/"

    @property
    def feed_url(self) -> str:
        return f"http://{self.host}/rss.xml"

    @property
    def sitemap_url(self) -> str:
        # Named as most sites name theirs: nothing in the address says news, its dates do.
        return f"http://{self.host}/sitemap.xml"

    def sources(self) -> list[tuple[str, str]]:
        out = [(self.home, "listing")]
        if self.feed:
            out.append((self.feed_url, "feed"))
        if self.sitemap:
            out.append((self.sitemap_url, "sitemap"))
        return out

    def released(self, t: float) -> list[LiveArticle]:
        """Articles out at ``t``, newest first."""
        return sorted((a for a in self.articles if a.released_at <= t), key=lambda a: -a.released_at)


def corpus_texts(corpora: Path) -> list[tuple[str, list[str]]]:
    """(title, paragraphs) of every corpus article with a body of a few paragraphs."""
    texts: list[tuple[str, list[str]]] = []
    for line in (corpora / "fundus" / "ground-truth.jsonl").read_text("utf-8").splitlines():
        truth = json.loads(line)
        paragraphs = [p for p in truth.get("body_paragraphs") or [] if len(p) > 40]
        if truth.get("title") and len(paragraphs) >= 3:
            texts.append((truth["title"], paragraphs))
    aeb = json.loads((corpora / "scrapinghub-aeb" / "ground-truth.json").read_text("utf-8"))
    for _, truth in sorted(aeb.items()):
        paragraphs = [p.strip() for p in (truth.get("articleBody") or "").split("\n") if len(p.strip()) > 40]
        if len(paragraphs) >= 3:
            words = _WORD.findall(paragraphs[0])[:9]
            texts.append((" ".join(words).capitalize(), paragraphs))
    return texts


def _slug(title: str, n: int) -> str:
    """An ASCII slug, as news sites print them (ä -> a): the URL needs no percent-encoding."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = [w.lower() for w in _WORD.findall(ascii_title)][:6] or ["story"]
    return "-".join([*words, str(n)])


@dataclass
class LiveSchedule:
    outlets: list[LiveOutlet]
    duration_s: float

    @classmethod
    def build(
        cls,
        texts: list[tuple[str, list[str]]],
        *,
        duration_s: float = 1200.0,
        counts: tuple[int, int, int] = (8, 20, 12),
        steady_per_run: int = 11,
        bursts: int = 2,
        burst_size: int = 5,
        burst_span_s: float = 90.0,
        quiet_share: float = 0.5,
        backlog: int = 4,
        seed: int = 7,
        rewrites: int = 0,
        rewrite_window_s: tuple[float, float] = (2400.0, 4 * 3600.0),
        retitle: bool = False,
    ) -> LiveSchedule:
        """About 300 stories in 20 minutes with the defaults (8*2*5 + 20*11 + ~6).

        ``rewrites``: each story released during the run is rewritten that many times, within
        ``rewrite_window_s`` of its release (drawn apart, so the stories are the same); the
        virtual crawl dates them in sitemaps (:class:`LiveWeb` serves the first version), and
        with ``retitle`` every source shows each rewrite under a new headline."""
        rng = random.Random(seed)
        outlets: list[LiveOutlet] = []
        n = 0
        for cls_name, count in zip(CLASSES, counts, strict=True):
            for i in range(count):
                k = len(outlets)
                outlets.append(
                    LiveOutlet(
                        name=f"{cls_name}-{i:02d}",
                        host=f"www.{cls_name}-{i:02d}.live.example",
                        cls=cls_name,
                        feed=k % 5 != 4,  # one in five has no feed
                        sitemap=(k % 2 == 0 and k % 5 != 4) or k % 10 == 9,  # some have a sitemap only
                        crawl_delay_s=2.0 if k % 13 == 6 else None,
                    )
                )
        for outlet in outlets:
            # The backlog is the outlet's own past: it publishes as it did before the run.
            times: list[float] = []
            if outlet.cls == "steady":
                gap = duration_s / steady_per_run
                times += [(j + rng.uniform(0.1, 0.9)) * gap for j in range(-backlog, steady_per_run)]
            elif outlet.cls == "bursty":
                period = duration_s / bursts
                for b in range(-1, bursts):
                    start = rng.uniform(b, b + 0.8) * period
                    times += sorted(start + rng.uniform(0, burst_span_s) for _ in range(burst_size))
            else:
                times += [-rng.uniform(6, 48) * 3600 for _ in range(backlog // 2)]
                if rng.random() < quiet_share:
                    times.append(rng.uniform(0.05, 0.9) * duration_s)
            for t in sorted(times):
                title, paragraphs = texts[n % len(texts)]
                _, more = texts[(n * 7 + 3) % len(texts)]
                body = tuple(paragraphs[:6] + more[:4])
                outlet.articles.append(
                    LiveArticle(
                        url=f"http://{outlet.host}/news/2026/12/{_slug(title, n)}",
                        outlet=outlet.name,
                        title=f"{title} ({n})",
                        author=f"Reporter {n % 17}",
                        paragraphs=body,
                        released_at=t,
                    )
                )
                n += 1
        if rewrites:
            redraw = random.Random(seed + 1)
            for outlet in outlets:
                outlet.articles = [
                    replace(
                        a,
                        updated_at=tuple(
                            sorted(a.released_at + redraw.uniform(*rewrite_window_s) for _ in range(rewrites))
                        ),
                        retitled=retitle,
                    )
                    if a.released_at >= 0
                    else a
                    for a in outlet.articles
                ]
        return cls(outlets, duration_s)

    def articles(self) -> list[LiveArticle]:
        return [a for o in self.outlets for a in o.articles]

    def released_during(self, start: float = 0.0, end: float | None = None) -> list[LiveArticle]:
        stop = self.duration_s if end is None else end
        return [a for a in self.articles() if start <= a.released_at <= stop]

    def outlet(self, name: str) -> LiveOutlet:
        return next(o for o in self.outlets if o.name == name)

    def outlets_toml(self, *, home_only: bool = False) -> str:
        """The outlets file: each outlet's home page, feed and sitemap, or (``home_only``) its
        home page alone, as a user who knows no more writes it: the feed is named in the
        page's head and the sitemap in robots.txt."""
        blocks = []
        for o in self.outlets:
            feeds = f'feeds = ["{o.feed_url}"]\n' if o.feed and not home_only else ""
            sitemaps = f'sitemaps = ["{o.sitemap_url}"]\n' if o.sitemap and not home_only else ""
            head = f'[[outlet]]\nname = "{o.name}"\nurls = ["{o.home}"]\n'
            blocks.append(f'{head}{feeds}{sitemaps}allowed_hosts = ["{o.host}"]\n')
        return "\n".join(blocks)

    def source_urls(self) -> dict[str, str]:
        """Every source URL and its outlet class."""
        return {url: o.cls for o in self.outlets for url, _ in o.sources()}

    # --- what a source lists at a time (relative seconds) -------------------------------------

    def listed(self, outlet: LiveOutlet, kind: str, t: float) -> list[LiveArticle]:
        out = outlet.released(t)
        if kind == "listing":
            return out[:HOME_TEASERS]
        if kind == "feed":
            return out[:FEED_ITEMS]
        return [a for a in out if t - a.released_at <= SITEMAP_WINDOW_S]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def render_article(a: LiveArticle, t0: float, outlet: LiveOutlet) -> bytes:
    published = _iso(t0 + a.released_at)
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": a.title,
        "datePublished": published,
        "author": [{"@type": "Person", "name": a.author}],
        "publisher": {"@type": "Organization", "name": outlet.name},
    }
    body = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(a.title)}</title>"
        f"<link rel='canonical' href='{escape(a.url)}'>"
        f"<meta property='og:title' content='{escape(a.title)}'>"
        f"<meta property='article:published_time' content='{published}'>"
        f"<script type='application/ld+json'>{json.dumps(ld)}</script></head><body>"
        f"<header><nav><a href='/'>{escape(outlet.name)}</a></nav></header>"
        f"<article><h1>{escape(a.title)}</h1><p class='byline'>By {escape(a.author)}</p>"
        f"<time datetime='{published}'>{published}</time>{body}</article>"
        f"<footer><p>Copyright {escape(outlet.name)}</p></footer></body></html>"
    ).encode()


def render_home(outlet: LiveOutlet, items: list[LiveArticle]) -> bytes:
    teasers = "".join(
        f"<article class='teaser'><h3><a href='{escape(a.url)}'>{escape(a.title)}</a></h3>"
        f"<p>{escape(a.paragraphs[0][:160])}</p></article>"
        for a in items
    )
    feed = ""
    if outlet.feed:
        feed = f"<link rel='alternate' type='application/rss+xml' href='{escape(outlet.feed_url)}'>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(outlet.name)}</title>{feed}</head>"
        f"<body><nav><a href='/'>Home</a></nav><main>{teasers}</main></body></html>"
    ).encode()


def render_feed(outlet: LiveOutlet, items: list[LiveArticle], t0: float) -> bytes:
    entries = "".join(
        f"<item><title>{escape(a.title)}</title><link>{escape(a.url)}</link>"
        f"<pubDate>{format_datetime(datetime.fromtimestamp(t0 + a.released_at, UTC))}</pubDate></item>"
        for a in items
    )
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{outlet.name}</title>"
        f"<link>{outlet.home}</link>{entries}</channel></rss>"
    ).encode()


def render_sitemap(outlet: LiveOutlet, items: list[LiveArticle], t0: float) -> bytes:
    urls = "".join(
        f"<url><loc>{escape(a.url)}</loc><news:news><news:publication><news:name>{outlet.name}</news:name>"
        f"<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{_iso(t0 + a.released_at)}</news:publication_date>"
        f"<news:title>{escape(a.title)}</news:title></news:news></url>"
        for a in items
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"
        f" xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>{urls}</urlset>"
    ).encode()


class LiveWeb:
    """Serves a :class:`LiveSchedule` in real time from ``start()``, through :class:`LocalWeb`."""

    def __init__(self, schedule: LiveSchedule) -> None:
        self.schedule = schedule
        self.web = LocalWeb()
        self.t0 = 0.0
        self._published: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LiveWeb:
        self.t0 = time.time()
        for o in self.schedule.outlets:
            robots = "User-agent: *\nAllow: /\n"
            if o.crawl_delay_s:
                robots += f"Crawl-delay: {o.crawl_delay_s:g}\n"
            if o.sitemap:
                robots += f"Sitemap: {o.sitemap_url}\n"
            self.web.add(f"http://{o.host}/robots.txt", Resource(robots.encode(), content_type="text/plain"))
        self._publish(0.0)
        self.web.start()
        self._thread = threading.Thread(target=self._run, name="live-web", daemon=True)
        self._thread.start()
        return self

    def now(self) -> float:
        """Seconds since the start of the run."""
        return time.time() - self.t0

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._publish(self.now())

    def _publish(self, t: float) -> None:
        for o in self.schedule.outlets:
            fresh = [a for a in o.articles if a.released_at <= t and a.url not in self._published]
            if not fresh:
                continue
            for a in fresh:
                self.web.add(a.url, Resource(render_article(a, self.t0, o)))
                self._published.add(a.url)
            changed_at = self.t0 + max(a.released_at for a in fresh)
            s = self.schedule
            home = render_home(o, s.listed(o, "listing", t))
            self.web.add(o.home, Resource(home, last_modified=changed_at))
            if o.feed:
                self.web.add(
                    o.feed_url,
                    Resource(
                        render_feed(o, s.listed(o, "feed", t), self.t0),
                        content_type="application/rss+xml",
                        last_modified=changed_at,
                    ),
                )
            if o.sitemap:
                self.web.add(
                    o.sitemap_url,
                    Resource(
                        render_sitemap(o, s.listed(o, "sitemap", t), self.t0),
                        content_type="application/xml",
                        last_modified=changed_at,
                    ),
                )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.web.stop()

    def __enter__(self) -> LiveWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
