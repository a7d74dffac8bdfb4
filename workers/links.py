"""Links out of listing pages, feeds and sitemaps, and the teaser blocks around article links."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import feedparser
from lxml import etree
from protego import Protego

from newscrawl.core.errors import InvalidURL, ParseError
from newscrawl.core.records import Link, Teaser
from newscrawl.core.urls import normalize_url
from workers.parse import HtmlPage

_WS = re.compile(r"\s+")
_FEED_TYPES = frozenset(
    ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/x-rss+xml")
)
# A listing names its outlet's feeds in its head; more than a few is a trap, not a newsroom.
MAX_FEEDS_PER_PAGE = 5
# A site's comments feeds list readers' comments, not stories.
_COMMENTS = re.compile(r"comment|kommentar", re.I)
# The sitemap protocol caps a file at 50,000 URLs; more is a broken or hostile file.
MAX_SITEMAP_URLS = 50_000
_TEASER_MAX_CHARS = 1000
_HEADLINE_MAX_CHARS = 300


def _norm(href: str, base: str) -> str | None:
    try:
        return normalize_url(href, base)
    except InvalidURL:
        return None


def html_links(page: HtmlPage, is_article: Callable[[str], bool]) -> tuple[list[Link], list[Teaser]]:
    """Every link of a listing page, and the teaser block around each article link.

    A teaser block is the largest ancestor of an article link that contains links to that
    article only: the card, list item or section entry a reader sees as one teaser.
    """
    links: dict[str, Link] = {}
    anchors: list[tuple[Any, str]] = []
    headlines: dict[str, tuple[bool, str]] = {}
    for anchor in page.tree.iter("a"):
        href = anchor.get("href")
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        url = _norm(href, page.base_url)
        if url is None or url == page.url:
            continue
        links.setdefault(url, Link(url=url, kind="page"))
        if is_article(url):
            anchors.append((anchor, url))
            headline = _link_headline(anchor)
            if headline > headlines.get(url, (False, "")):
                headlines[url] = headline
    for url, (_, text) in headlines.items():
        links[url] = Link(url=url, kind="page", title=text)
    return [*links.values(), *named_feeds(page)], _teasers(page, anchors)


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _link_headline(anchor: Any) -> tuple[bool, str]:
    """The headline a link shows, and whether it is a heading: the heading inside a link that
    wraps a whole card (whose date and lede change more often than its headline), or the link's
    text. Of a story's links, one in a heading is its headline, else the longest: the others are
    its picture, its lede, its kicker or its comment count."""
    heading = next(anchor.iter(*_HEADINGS), None)
    in_heading = heading is not None or any(
        el.tag in _HEADINGS for el, _ in zip(anchor.iterancestors(), range(2), strict=False)
    )
    element = anchor if heading is None else heading
    text = _WS.sub(" ", " ".join(element.itertext())).strip()[:_HEADLINE_MAX_CHARS]
    return in_heading and bool(text), text


def named_feeds(page: HtmlPage) -> list[Link]:
    """The feeds a page names (``<link rel="alternate" type="application/rss+xml">`` and the
    like), comments feeds left out, at most :data:`MAX_FEEDS_PER_PAGE`."""
    feeds: dict[str, Link] = {}
    for element in page.tree.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        kind = (element.get("type") or "").split(";")[0].strip().lower()
        href = element.get("href")
        if "alternate" not in rel or kind not in _FEED_TYPES or not href:
            continue
        title = element.get("title") or ""
        url = _norm(href, page.base_url)
        if url is None or url == page.url or _COMMENTS.search(title) or _COMMENTS.search(url):
            continue
        feeds.setdefault(url, Link(url=url, kind="feed", title=title or None))
        if len(feeds) == MAX_FEEDS_PER_PAGE:
            break
    return list(feeds.values())


def _teasers(page: HtmlPage, anchors: list[tuple[Any, str]]) -> list[Teaser]:
    targets: dict[Any, set[str]] = {}
    for anchor, url in anchors:
        for el in anchor.iterancestors():
            targets.setdefault(el, set()).add(url)
    teasers: dict[str, Teaser] = {}
    for anchor, url in anchors:
        block = anchor
        for el in anchor.iterancestors():
            if el.tag in ("body", "html") or targets.get(el) != {url}:
                break
            block = el
        text = _WS.sub(" ", " ".join(block.itertext())).strip()[:_TEASER_MAX_CHARS]
        headline = _WS.sub(" ", " ".join(anchor.itertext())).strip()
        if text and url not in teasers:
            teasers[url] = Teaser(page_url=page.url, article_url=url, text=text, headline=headline)
    return list(teasers.values())


def _struct_ts(value: Any) -> float | None:
    return float(calendar.timegm(value)) if value else None


# A DOCTYPE's internal subset and entity declarations: feedparser's loose parser would expand
# them (billion laughs, quadratic blow-up), so feeds are parsed without them.
_DTD = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>|<!ENTITY[^>]*>", re.IGNORECASE | re.DOTALL)


def _without_dtd(body: bytes) -> bytes:
    return _DTD.sub(b"", body) if b"<!" in body else body


def feed_links(body: bytes, url: str) -> list[Link]:
    parsed = feedparser.parse(_without_dtd(body), sanitize_html=False, resolve_relative_uris=False)
    if parsed.bozo and not parsed.entries:
        raise ParseError(f"unreadable feed: {parsed.get('bozo_exception')}", url=url)
    links = []
    for entry in parsed.entries:
        # A feed served through a click-tracking proxy names the story's own address apart.
        href = entry.get("feedburner_origlink") or entry.get("link") or entry.get("id")
        target = _norm(href, url) if href else None
        if target is None:
            continue
        updated = _struct_ts(entry.get("updated_parsed"))
        published = _struct_ts(entry.get("published_parsed")) or updated
        # feedparser reports an RSS item's pubDate as its update too; taken for a change, a pubDate
        # a wrong time zone puts an hour ahead would have each story fetched twice. Only an
        # <updated> apart from the publication (an Atom entry edited after it) dates a change.
        changed = updated if updated is not None and updated != published else None
        title = entry.get("title")
        links.append(Link(url=target, kind="page", published_ts=published, title=title, modified_ts=changed))
    return links


_SITEMAP_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _parse_iso(value: str | None) -> float | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return calendar.timegm(stamp.timetuple())
    return stamp.timestamp()


def robots_sitemap_links(text: str, url: str) -> list[Link]:
    """The sitemaps a robots.txt names on its ``Sitemap:`` lines, in their order."""
    links: list[Link] = []
    for href in Protego.parse(text).sitemaps:
        target = _norm(href, url)
        if target is not None:
            links.append(Link(url=target, kind="sitemap"))
    return links


def sitemap_links(body: bytes, url: str) -> list[Link]:
    """URLs of a sitemap or sitemap index, with Google News ``news:`` dates and titles."""
    try:
        root = etree.fromstring(body, parser=_SITEMAP_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"unreadable sitemap: {exc}", url=url) from exc
    if root is None:
        raise ParseError("empty sitemap", url=url)
    child_kind = "sitemap" if _local(root.tag) == "sitemapindex" else "page"
    links: list[Link] = []
    for entry in root:
        if len(links) >= MAX_SITEMAP_URLS:
            break
        fields: dict[str, str] = {}
        news = False
        for el in entry.iter():
            name = _local(el.tag)
            news = news or name == "news"
            if el.text and name in ("loc", "lastmod", "publication_date", "title") and name not in fields:
                fields[name] = el.text.strip()
        target = _norm(fields["loc"], url) if "loc" in fields else None
        if target is None:
            continue
        modified = _parse_iso(fields.get("lastmod"))
        published = _parse_iso(fields.get("publication_date")) or modified
        links.append(
            Link(
                url=target,
                kind=child_kind,
                published_ts=published,
                title=fields.get("title"),
                news=news,
                modified_ts=modified,
            )
        )
    return links
