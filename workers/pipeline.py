"""What happens to one fetched response: classify, parse once, extract, discover.

This is the unit a Celery task will run; it touches no store. The engine (or the task) takes
the :class:`PageResult` to the frontier, the dedup stage and the index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from newscrawl.core.document import Document, doc_id
from newscrawl.core.errors import (
    HOSTILE_INPUT_ERRORS,
    InvalidURL,
    NewscrawlError,
    OutOfScope,
    ParseError,
    StoreError,
)
from newscrawl.core.interfaces import LinkPolicy
from newscrawl.core.learned import LearnedFacts
from newscrawl.core.records import FrontierEntry, Lease, Link, Teaser, UrlKind
from newscrawl.core.urls import host_of, normalize_url
from workers.compression import gunzip_capped
from workers.extract import Article, extract_article
from workers.fetch import FetchResponse
from workers.links import feed_links, html_links, robots_sitemap_links, sitemap_links
from workers.parse import classify_body, classify_html, parse_html
from workers.url_params import LearnedParams


@dataclass
class PageResult:
    kind: UrlKind | None
    body_hash: str | None = None
    unchanged: bool = False
    document: Document | None = None
    entries: list[FrontierEntry] = field(default_factory=list)
    teasers: list[Teaser] = field(default_factory=list)
    error: NewscrawlError | None = None
    # CPU seconds spent extracting the article (the rest of ``process`` is parsing and discovery).
    extract_cpu_s: float = 0.0
    # Whether a listing stays a source (Outcome.keep_source).
    keep_source: bool = True
    # A live blog: fetched again while it runs (Outcome.live).
    live: bool = False
    coverage_end_ts: float | None = None
    coverage_start_ts: float | None = None


def body_hash(body: bytes) -> str:
    return hashlib.sha1(body).hexdigest()


def to_document(article: Article, *, url: str, outlet: str | None, now: datetime) -> Document:
    return Document(
        id=doc_id(article.canonical_url),
        url=url,
        canonical_url=article.canonical_url,
        outlet=outlet,
        host=host_of(url),
        title=article.title,
        authors=article.authors,
        published_at=article.published_at,
        modified_at=article.modified_at,
        language=article.language,
        section=article.section,
        tags=article.tags,
        description=article.description,
        body=article.body,
        image_url=article.image_url,
        paywalled=article.paywalled,
        first_seen_at=now,
        fetched_at=now,
    )


class PageProcessor:
    def __init__(
        self,
        discovery: LinkPolicy,
        *,
        follow_article_links: bool,
        max_body_bytes: int,
        compare_extractors: bool = False,
        section_min_article_links: int = 10,
        learned: LearnedFacts | None = None,
    ) -> None:
        self._section_min_article_links = section_min_article_links
        self._compare_extractors = compare_extractors
        self._discovery = discovery
        self._follow_article_links = follow_article_links
        self._max_body_bytes = max_body_bytes
        self._params = LearnedParams(learned)

    def process(self, lease: Lease, response: FetchResponse) -> PageResult:
        """Never raises for bad input: the error is returned on the result for that URL. A store
        that fails (what was learned of the host) raises StoreError: the page is settled again."""
        digest = body_hash(response.body)
        # A source, or a live blog, that reads as before: nothing to parse (a story read once is
        # read whatever its hash, as it may have been fetched again for a change its feed dated).
        if lease.body_hash == digest and (lease.kind != "article" or lease.live_until is not None):
            return PageResult(kind=lease.kind, body_hash=digest, unchanged=True)
        try:
            return self._process(lease, response, digest)
        except StoreError:
            raise  # what was learned of the host is out of reach: the page waits, it is not failed
        except NewscrawlError as exc:
            return PageResult(kind=None, body_hash=digest, error=exc)
        except HOSTILE_INPUT_ERRORS as exc:
            # Parsers of hostile input fail in many ways; the page fails, the crawl goes on.
            return PageResult(
                kind=None, body_hash=digest, error=ParseError(f"{type(exc).__name__}: {exc}", url=lease.url)
            )

    def _process(self, lease: Lease, response: FetchResponse, digest: str) -> PageResult:
        final_url = self._final_url(response)
        body = gunzip_capped(response.body, lease.url, self._max_body_bytes)
        shape = classify_body(body, response.content_type)
        if shape == "feed":
            result = self._links_result("feed", lease, feed_links(body, final_url), digest, final_url)
            if not self._discovery.in_scope(lease.outlet, lease.url):
                # A feed its outlet's page names on another name stays a source while it lists
                # the outlet's stories (the BBC's on feeds.bbci.co.uk), not a partner's feed.
                result.keep_source = any(entry.kind == "article" for entry in result.entries)
            return result
        if shape == "sitemap":
            links = sitemap_links(body, final_url)
            result = self._links_result("sitemap", lease, links, digest, final_url)
            if not self._discovery.in_scope(lease.outlet, lease.url):
                # One its outlet's robots.txt names on another name (a CDN's), or an index
                # there lists, stays a source while it lists the outlet's pages.
                result.keep_source = self._discovery.lists_for(lease.outlet, links, final_url)
            return result
        if shape != "html":
            raise ParseError(
                f"not an HTML page, feed or sitemap ({response.content_type or 'no type'})", url=lease.url
            )
        outlet = lease.outlet or self._discovery.outlet_for(final_url)
        if final_url != lease.url and not self._discovery.in_scope(outlet, final_url):
            # A redirect off the outlet's hosts (a consent wall, a parked domain) is not its article.
            raise OutOfScope(f"redirected off the outlet's hosts to {final_url}", url=lease.url)
        page = parse_html(response.text, final_url)
        # A listing stays one, a possible section too: real sections often call themselves
        # articles (og:type) or carry as much teaser text as one; the articles it lists decide.
        kind = classify_html(page, lease.kind)
        result = PageResult(kind=kind, body_hash=digest)
        if kind == "listing" or self._follow_article_links:
            links, teasers = html_links(page, lambda u: self._discovery.is_article(outlet, u))
            result.entries = self._entries(lease, links, final_url, kind)
            result.teasers = teasers if kind == "listing" else []
        if lease.section_on_trial:
            listed = sum(1 for entry in result.entries if entry.kind == "article")
            result.keep_source = listed >= self._section_min_article_links
        if kind == "article":
            started = time.process_time()
            article = extract_article(page, compare_extractors=self._compare_extractors)
            result.extract_cpu_s = time.process_time() - started
            now = datetime.now(UTC)
            result.document = to_document(article, url=final_url, outlet=lease.outlet, now=now)
            if article.live:
                result.live = True
                result.coverage_end_ts = article.coverage_end.timestamp() if article.coverage_end else None
                # Its own start, not the page's publication date: one read off the address
                # ("/2026/12/06/") is midnight, and would end a blog started that evening.
                result.coverage_start_ts = (
                    article.coverage_start.timestamp() if article.coverage_start else None
                )
            if self._discovery.is_article(outlet, article.canonical_url):
                # Only an address that names a story by itself: a template whose canonical drops
                # the ?id= that tells its pages apart (/video?id=5 -> /video) teaches nothing.
                self._params.observe(lease.url, article.canonical_url)
        return result

    def robots_sitemaps(self, lease: Lease, text: str, final_url: str) -> list[FrontierEntry]:
        """The sources a host's robots.txt names that the discovery policy takes (news sitemaps)."""
        try:
            links = robots_sitemap_links(text, final_url)
        except HOSTILE_INPUT_ERRORS:
            return []  # its rules are the frontier's to read (or to find unreadable)
        if not links:
            return []
        outlet = lease.outlet or self._discovery.outlet_for(lease.url)
        # The host's robots.txt, wherever it redirected (RFC 9309): the host vouches for the
        # sitemaps it names (scheduler/discovery.py).
        return self._discovery.entries(
            links, outlet_name=outlet, depth=0, referrer=lease.url, source="robots"
        )

    def _links_result(
        self, kind: UrlKind, lease: Lease, links: list[Link], digest: str, url: str
    ) -> PageResult:
        return PageResult(kind=kind, body_hash=digest, entries=self._entries(lease, links, url, kind))

    def _entries(self, lease: Lease, links: list[Link], url: str, kind: UrlKind) -> list[FrontierEntry]:
        """The frontier entries of a page's links (the page at ``url``, read as ``kind``)."""
        entries = self._discovery.entries(
            links,
            outlet_name=lease.outlet,
            depth=lease.depth,
            referrer=url,
            source=kind,
            previous_visit_ts=lease.fetched_at,
        )
        return self._without_ignored_params(entries)

    def _without_ignored_params(self, entries: list[FrontierEntry]) -> list[FrontierEntry]:
        """Article links without the parameters their host's canonical URLs were seen to drop
        (``workers/url_params.py``): one story linked with and without ``?cmpid=rss`` is one URL."""
        return [
            dataclasses.replace(e, url=self._params.clean(e.url)) if e.kind == "article" else e
            for e in entries
        ]

    @staticmethod
    def _final_url(response: FetchResponse) -> str:
        try:
            return normalize_url(response.final_url)
        except InvalidURL:
            return response.url
