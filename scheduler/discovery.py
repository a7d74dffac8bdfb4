"""Discovery policy: which found links enter the frontier, as what, and at which depth."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

from courlan import is_navigation_page, is_not_crawlable

from newscrawl.core.learned import LearnedFacts
from newscrawl.core.records import FrontierEntry, Link, UrlKind, headline_key
from newscrawl.core.urls import host_of
from scheduler.outlets import Outlet, OutletIndex
from scheduler.url_shapes import ArticleShapes

_DATE_PATH = re.compile(r"/(?:19|20)\d\d[/-](?:0?[1-9]|1[0-2])(?:[/-]|$)")
_LONG_NUMBER = re.compile(r"\d{5,}")
_SLUG_SPLIT = re.compile(r"[-_+]")
_ARTICLE_SUFFIX = re.compile(r"\.(?:s?html?|php|aspx?|ece|cms|story)$", re.I)
_NAME_TOKENS = re.compile(r"[^a-z0-9]+")
# A robots.txt names a few sitemaps; more is a generated list, not a newsroom's.
MAX_ROBOTS_SITEMAPS = 5
# A feed or sitemap that dates at least this share of its entries (three or more) within one
# minute stamps them when it is generated: its dates say nothing of when each story changed.
STAMPED_SHARE = 0.5
STAMPED_WINDOW_S = 60.0
# Of a found sitemap index, the children most recently changed: a news site's current month,
# its news sitemap, its latest posts; the rest is its archive.
MAX_FOUND_INDEX_CHILDREN = 5


def looks_like_article(url: str) -> bool:
    """A generic guess from the URL alone, for outlets without an ``article_pattern``."""
    parts = urlsplit(url)
    path = parts.path
    if path in ("", "/") or is_navigation_page(url) or is_not_crawlable(url):
        return False
    segments = [s for s in path.split("/") if s]
    last = segments[-1] if segments else ""
    words = _slug_words(last)
    if len(words) >= 4 or _headline_then_id(segments):
        return True
    if _DATE_PATH.search(path) or _LONG_NUMBER.search(path):
        return True
    return bool(_ARTICLE_SUFFIX.search(last)) and len(words) >= 2


def _slug_words(segment: str) -> list[str]:
    return [w for w in _SLUG_SPLIT.split(_ARTICLE_SUFFIX.sub("", segment)) if w]


# A story's identifier: digits (``2900-4965``, ``b9565ae08a``) or capitals inside (``ar-BBWXwNX``);
# a wiki's page name is words (``Central_Hyrule``), a section's or a view's a word (``results``),
# a page number or a year is a page of something else (``/<story>/2``, ``/<section>/2024``).
_IDENTIFIER = re.compile(r"\d|[A-Z][a-z]*[A-Z]")
_PAGE_OR_YEAR = re.compile(r"^\d{1,4}$")


def _headline_then_id(segments: list[str]) -> bool:
    """``/<headline of four words or more>/<identifier>``: the story's slug is not always last."""
    if len(segments) < 2 or "_" in segments[-1] or _PAGE_OR_YEAR.match(segments[-1]):
        return False
    return bool(_IDENTIFIER.search(segments[-1])) and len(_slug_words(segments[-2])) >= 4


_PAGE_NUMBER = re.compile(r"^\d+$")
_HOME_FILE = re.compile(r"^(?:index|default|home|start)(?:\.\w+)?$", re.I)
_DOCUMENT_SUFFIX = re.compile(r"\.(?!s?html?$|php$|aspx?$)\w{2,5}$", re.I)


def looks_like_section(url: str, page_url: str) -> bool:
    """Whether a link of a listing page may lead to a section of its site: a shallow page (one
    or two path segments, no query) on the page's own host that is not an article, a page
    number, the home page again, a file or a login form. Whether it is one, its content says."""
    parts = urlsplit(url)
    if parts.query or parts.netloc != urlsplit(page_url).netloc:
        return False
    segments = [s for s in parts.path.split("/") if s]
    if not 1 <= len(segments) <= 2 or _PAGE_NUMBER.match(segments[-1]):
        return False
    if len(segments) == 1 and _HOME_FILE.match(segments[0]):
        return False
    if _DOCUMENT_SUFFIX.search(segments[-1]) or is_not_crawlable(url):
        return False
    return not looks_like_article(url)


def is_news_sitemap(url: str) -> bool:
    """Whether a sitemap's address names it a news sitemap (``sitemap-news.xml``,
    ``/sitemaps/news.xml``, ``googlenews``, ``news_sitemap.xml``): by Google's rules such a
    sitemap lists the last two days' stories, where a site's other sitemaps list its archive."""
    parts = urlsplit(url)
    tokens = _NAME_TOKENS.split(f"{parts.path}?{parts.query}".lower())
    return any(t == "news" or t == "googlenews" or ("news" in t and "sitemap" in t) for t in tokens)


class Discovery:
    """Turns links found on a page of an outlet into frontier entries (a ``LinkPolicy``)."""

    def __init__(
        self,
        outlets: OutletIndex,
        *,
        discover_feeds: bool = True,
        discover_news_sitemaps: bool = True,
        found_sitemap_max_age_s: float = 3 * 86400.0,
        sections_per_page: int = 0,
        section_min_articles: int = 10,
        learn_article_shapes: bool = True,
        learned: LearnedFacts | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``learned``: where learned address shapes go and are read from (None: this object's own)."""
        self._outlets = outlets
        self._shapes = ArticleShapes(learned) if learn_article_shapes else None
        self._discover_feeds = discover_feeds
        self._discover_news_sitemaps = discover_news_sitemaps
        self._found_sitemap_max_age_s = found_sitemap_max_age_s
        self._clock = clock
        self._sections_per_page = sections_per_page
        self._section_min_articles = section_min_articles

    def _outlet(self, name: str | None) -> Outlet | None:
        return self._outlets.get(name) if name else None

    def outlet_for(self, url: str) -> str | None:
        outlet = self._outlets.for_url(url)
        return outlet.name if outlet else None

    def in_scope(self, outlet_name: str | None, url: str) -> bool:
        outlet = self._outlet(outlet_name)
        return outlet is None or outlet.allows(url)

    def is_article(self, outlet_name: str | None, url: str) -> bool:
        return self._is_article(self._outlet(outlet_name), url)

    def _is_article(self, outlet: Outlet | None, url: str) -> bool:
        if outlet is not None and not outlet.allows(url):
            return False
        if outlet is not None and outlet.article_pattern is not None:
            return bool(outlet.article_pattern.search(url))
        return looks_like_article(url) or (self._shapes is not None and self._shapes.is_article(url))

    def _learn_shapes(self, links: list[Link], outlet: Outlet | None, source: str, referrer: str) -> None:
        """A feed or a news sitemap lists stories: their addresses teach the host's article shapes
        (``scheduler/url_shapes.py``). Other sitemaps list tag, author and service pages too."""
        if self._shapes is None or outlet is None or outlet.article_pattern is not None:
            return
        if source == "feed" or (source == "sitemap" and is_news_sitemap(referrer)):
            stories = (x for x in links if x.kind == "page")
        elif source == "sitemap":
            stories = (x for x in links if x.kind == "page" and x.news)
        else:
            return
        for link in stories:
            if outlet.allows(link.url):
                self._shapes.observe(link.url)

    def entries(
        self,
        links: list[Link],
        *,
        outlet_name: str | None,
        depth: int,
        referrer: str,
        source: str,
        previous_visit_ts: float | None = None,
    ) -> list[FrontierEntry]:
        """``previous_visit_ts``: when the page was fetched before (a headline it now shows
        differently changed since)."""
        outlet = self._outlet(outlet_name)
        seeds = set(outlet.urls) if outlet else set()
        out: list[FrontierEntry] = []
        changes_dated = not stamped_when_generated(links)
        self._learn_shapes(links, outlet, source, referrer)
        if source == "robots":
            links = self._robots_sitemaps(outlet, links, referrer)
        elif source == "sitemap" and depth > 0:
            links = self._recent(links, referrer)
        # Only the outlets file's own pages name sections and feeds; a section found on one names
        # no more (thirty sections with a feed each would make an outlet ninety sources).
        named_by_seed = source == "listing" and depth == 0 and outlet is not None
        sections = (
            self._ranked_sections(links, outlet, referrer, seeds)
            if named_by_seed and self._sections_per_page
            else set()
        )
        taken: set[str] = set()
        # What an outlets-file sitemap's indexes list is named by the file too (depth 0: read
        # whole); below a found one, or robots.txt, depth counts what the crawl found itself.
        index_depth = 0 if source == "sitemap" and depth == 0 else depth + 1
        for position, link in enumerate(links):
            # A feed an outlet's listing names becomes one of its sources, revisited on its own
            # schedule: it often lists stories the page has no room for. It may be served from
            # another name (the BBC's from feeds.bbci.co.uk): it is tried there, and kept while
            # it lists the outlet's stories (workers/pipeline.py).
            named_feed = link.kind == "feed" and self._discover_feeds and named_by_seed
            # A sitemap may be served from another name too, where its site says so: the
            # outlet's robots.txt naming it (the sitemaps protocol's cross-submission), or an
            # index on that name listing it beside itself. It is kept while it lists the
            # outlet's pages (``lists_for``).
            declared_sitemap = link.kind == "sitemap" and (
                source == "robots" or (source == "sitemap" and same_host(link.url, referrer))
            )
            if outlet is not None and not outlet.allows(link.url) and not (named_feed or declared_sitemap):
                continue
            kind: UrlKind
            if link.kind == "sitemap":
                kind = "sitemap"
            elif link.kind == "feed":
                if not named_feed:
                    continue
                kind = "feed"
            elif link.url in seeds:
                continue  # seeds are already scheduled with their own interval
            elif source in ("feed", "sitemap") or self._is_article(outlet, link.url):
                # Feeds and sitemaps list articles by definition.
                kind = "article"
            elif link.url in sections and link.url not in taken:
                taken.add(link.url)
                kind = "listing"
            else:
                continue
            out.append(
                FrontierEntry(
                    url=link.url,
                    kind=kind,
                    outlet=outlet_name,
                    depth=index_depth if kind == "sitemap" else depth + 1,
                    published_ts=link.published_ts,
                    referrer=referrer,
                    position=position,
                    modified_ts=link.modified_ts if changes_dated else None,
                    headline=headline_key(link.title) if kind == "article" else None,
                    previous_visit_ts=previous_visit_ts,
                )
            )
        if taken and sum(1 for e in out if e.kind == "article") < self._section_min_articles:
            # A page with a handful of stories is a small site's: they are all on it, and its
            # other pages (about, contact, its few categories) would cost more than they find.
            return [e for e in out if e.kind != "listing"]
        return out

    def _ranked_sections(
        self, links: list[Link], outlet: Outlet | None, page_url: str, seeds: set[str]
    ) -> set[str]:
        """The page's ``sections_per_page`` likeliest sections: the first half of the quota in
        page order, the rest those under whose path the page's own stories sit, the most first
        (``/politik/`` for ``/politik/inland/...`` stories). A navigation that opens with dozens
        of service and shopping pages (``/kaufberater/``, ``/casinos/``, ``/mediathek/...``)
        would otherwise fill the quota before the newsroom's sections."""
        stories: list[str] = []
        candidates: dict[str, str] = {}  # url -> its path as a folder
        for link in links:
            if link.kind != "page" or link.url in seeds:
                continue
            if self._is_article(outlet, link.url):
                stories.append(urlsplit(link.url).path)
            elif link.url not in candidates and looks_like_section(link.url, page_url):
                candidates[link.url] = urlsplit(link.url).path.rstrip("/") + "/"
        if len(candidates) <= self._sections_per_page:
            return set(candidates)
        under: Counter[str] = Counter()  # stories per folder they sit in, at any depth
        for path in stories:
            end = path.find("/", 1)
            while end != -1:
                under[path[: end + 1]] += 1
                end = path.find("/", end + 1)
        # Half in page order (a headlines page, a ticker or a video section lists stories from
        # every folder, none under its own), the rest by the stories under them.
        first = list(candidates)[: (self._sections_per_page + 1) // 2]
        rest = sorted(
            (url for url in candidates if url not in first), key=lambda url: -under[candidates[url]]
        )
        return set(first + rest[: self._sections_per_page - len(first)])

    def _robots_sitemaps(self, outlet: Outlet | None, links: list[Link], robots_url: str) -> list[Link]:
        """The sitemaps of an outlet's robots.txt, those named news first, then those on the
        outlet's hosts. Each is a found sitemap: only what it dates recent is taken
        (``_recent``), so an archive costs a fetch, not every story the site ever published.

        The robots.txt of one of the outlet's hosts may name a sitemap on another name (a CDN's,
        a storage bucket's): by the sitemaps protocol its site vouches for it. The robots.txt of
        a host the crawl visits for the outlet's feed or sitemap is that host's own: of its
        sitemaps, only those on the outlet's hosts."""
        if not self._discover_news_sitemaps or outlet is None:
            return []
        own_robots = outlet.allows(robots_url)
        named = [x for x in links if x.kind == "sitemap" and (own_robots or outlet.allows(x.url))]
        # stable: robots.txt order otherwise
        named.sort(key=lambda x: (not is_news_sitemap(x.url), not outlet.allows(x.url)))
        return named[:MAX_ROBOTS_SITEMAPS]

    def lists_for(self, outlet_name: str | None, links: list[Link], sitemap_url: str) -> bool:
        """Whether a sitemap served off its outlet's hosts lists that outlet's pages, or other
        sitemaps beside itself (an index): another site's stays out of the crawl after one fetch.
        Its entries alone would not tell: a found sitemap gives only what it dates recent."""
        outlet = self._outlet(outlet_name)
        return outlet is None or any(
            same_host(x.url, sitemap_url) if x.kind == "sitemap" else outlet.allows(x.url) for x in links
        )

    def _recent(self, links: list[Link], sitemap_url: str) -> list[Link]:
        """What a sitemap the crawl found itself (in robots.txt, or in a found index) lists of
        the last ``found_sitemap_max_age_s``. A Google News sitemap (named so, or written in
        its markup) is read whole: it lists the last two days' stories by definition, and a
        replay of old ones is still news to its reader. Of any other, the entries dated
        (``lastmod``) that recently, and of an index the ``MAX_FOUND_INDEX_CHILDREN`` children
        changed last, news sitemaps first (an undated child only when named news)."""
        if is_news_sitemap(sitemap_url) or any(x.news for x in links):
            return links
        oldest = self._clock() - self._found_sitemap_max_age_s
        pages = [x for x in links if x.kind != "sitemap" and (x.published_ts or 0.0) >= oldest]
        children = [
            x
            for x in links
            if x.kind == "sitemap" and (is_news_sitemap(x.url) or (x.published_ts or 0.0) >= oldest)
        ]
        children.sort(key=lambda x: (not is_news_sitemap(x.url), -(x.published_ts or 0.0)))
        return pages + children[:MAX_FOUND_INDEX_CHILDREN]


def same_host(url: str, other: str) -> bool:
    return host_of(url) == host_of(other)


def stamped_when_generated(links: list[Link]) -> bool:
    """Whether a page's ``modified_ts`` dates are its generation time rather than each story's
    change (many CMSs write ``<lastmod>`` as "now" on every entry): at least three dated entries,
    ``STAMPED_SHARE`` of them within ``STAMPED_WINDOW_S``. Taken at their word, such dates would
    have every story fetched again at every ``refetch_min_gap_s``."""
    stamps = sorted(x.modified_ts for x in links if x.modified_ts is not None and x.kind == "page")
    if len(stamps) < 3:
        return False
    needed = max(2, math.ceil(STAMPED_SHARE * len(stamps)))
    return any(
        stamps[i + needed - 1] - stamps[i] <= STAMPED_WINDOW_S for i in range(len(stamps) - needed + 1)
    )
