"""The replay web: saved pages of real outlets at their recorded URLs, over plain http.

Built from ``../shared/corpora`` (fundus and scrapinghub-aeb article pages). Each host gets a
generated home page and section page whose teaser blocks repeat, an RSS feed, a Google News
sitemap and a robots.txt; some hosts ask for a Crawl-delay. Served by :class:`LocalWeb` as a
forward proxy, so the crawler reaches it through its ordinary proxy support.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from newscrawl.app.localweb import LocalWeb, Resource
from newscrawl.core.urls import normalize_url

PRIVATE_PREFIX = "/replay-private/"


@dataclass
class ReplayPage:
    url: str  # as served: http://host/path
    source: str  # corpus file
    truth: dict[str, object] = field(default_factory=dict)
    corpus: str = ""


@dataclass
class ReplayWeb:
    web: LocalWeb
    outlets_toml: str
    pages: dict[str, ReplayPage]
    hosts: dict[str, list[str]]  # host -> article URLs
    crawl_delay_hosts: dict[str, float]


def as_http(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("http", parts.netloc.lower(), parts.path or "/", parts.query, ""))


# Pages are served at the normal form of their recorded URL (tracking parameters dropped,
# query sorted): the crawler asks for that form, as it would of a real server.


def load_corpus_pages(corpora: Path) -> dict[str, ReplayPage]:
    pages: dict[str, ReplayPage] = {}
    for line in (corpora / "fundus" / "ground-truth.jsonl").read_text("utf-8").splitlines():
        truth = json.loads(line)
        url = normalize_url(as_http(truth["url"]))
        pages[url] = ReplayPage(
            url=url, source=str(corpora / "fundus" / truth["page"]), truth=truth, corpus="fundus"
        )
    aeb = json.loads((corpora / "scrapinghub-aeb" / "ground-truth.json").read_text("utf-8"))
    for key, truth in sorted(aeb.items()):
        url = normalize_url(as_http(truth["url"]))
        pages.setdefault(
            url,
            ReplayPage(
                url=url,
                source=str(corpora / "scrapinghub-aeb" / "html" / f"{key}.html.gz"),
                truth=truth,
                corpus="aeb",
            ),
        )
    return pages


def load_independent_pages(folder: Path) -> dict[str, ReplayPage]:
    """Pages of a corpus nobody tuned newscrawl to (``articles.json`` and ``html/<id>.html``, the
    layout ``bench/crossval.py`` reads): a web of pages the benchmarks' rules never saw."""
    pages: dict[str, ReplayPage] = {}
    for key, row in sorted(json.loads((folder / "articles.json").read_text("utf-8")).items()):
        source = folder / "html" / f"{key}.html"
        if not source.exists():
            continue
        url = normalize_url(as_http(row["url"]))
        truth = {"title": row["title"], "publishing_date": row["date"]}
        pages.setdefault(url, ReplayPage(url=url, source=str(source), truth=truth, corpus="independent"))
    return pages


def _read_page(source: str) -> bytes:
    if source.endswith(".gz"):
        with gzip.open(source, "rb") as fh:
            return fh.read()
    return Path(source).read_bytes()


def _title(page: ReplayPage) -> str:
    title = page.truth.get("title")
    if isinstance(title, str) and title:
        return title
    slug = [s for s in urlsplit(page.url).path.split("/") if s]
    return (slug[-1] if slug else page.url).replace("-", " ")[:120]


def _published(page: ReplayPage) -> datetime | None:
    raw = page.truth.get("publishing_date")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _teaser(page: ReplayPage) -> str:
    return (
        f"<article class='teaser'><h3><a href='{escape(page.url)}'>{escape(_title(page))}</a></h3>"
        f"<p>Read the full story on this site.</p></article>"
    )


def _listing(host: str, title: str, pages: list[ReplayPage], most_read: list[ReplayPage]) -> bytes:
    private = f"http://{host}{PRIVATE_PREFIX}internal-draft-of-an-embargoed-story"
    block = "".join(f"<li><a href='{escape(p.url)}'>{escape(_title(p))}</a></li>" for p in most_read)
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head><body>"
        f"<nav><a href='/'>Home</a> <a href='/replay-section/'>Section</a></nav>"
        f"<main><h1>{escape(title)}</h1>"
        f"{''.join(_teaser(p) for p in pages)}</main><aside><h2>Most read</h2><ol>{block}</ol></aside>"
        f"<footer><a href='{private}'>Staff only</a></footer></body></html>"
    )
    return html.encode("utf-8")


def _rss(host: str, pages: list[ReplayPage]) -> bytes:
    items = []
    for p in pages:
        when = _published(p)
        date = f"<pubDate>{format_datetime(when)}</pubDate>" if when and when.tzinfo else ""
        items.append(f"<item><title>{escape(_title(p))}</title><link>{escape(p.url)}</link>{date}</item>")
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{host}</title>"
        f"<link>http://{host}/</link>{''.join(items)}</channel></rss>"
    ).encode()


def _sitemap(pages: list[ReplayPage]) -> bytes:
    urls = []
    for p in pages:
        when = _published(p)
        date = f"<news:publication_date>{when.isoformat()}</news:publication_date>" if when else ""
        urls.append(
            f"<url><loc>{escape(p.url)}</loc><news:news><news:publication><news:name>x</news:name>"
            f"<news:language>en</news:language></news:publication>{date}"
            f"<news:title>{escape(_title(p))}</news:title></news:news></url>"
        )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"
        f" xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>{''.join(urls)}</urlset>"
    ).encode()


def _outlet_entry(host: str, mix: str, n: int) -> str:
    home, section = f"http://{host}/", f"http://{host}/replay-section/"
    feed, sitemap = f"http://{host}/replay-feed.xml", f"http://{host}/replay-news-sitemap.xml"
    if mix == "rich":
        sources = f'urls = ["{home}", "{section}"]\nfeeds = ["{feed}"]\nsitemaps = ["{sitemap}"]\n'
    elif mix == "lean":
        sources = (
            f'urls = ["{home}"]\n',
            f'urls = []\nfeeds = ["{feed}"]\n',
            f'urls = []\nsitemaps = ["{sitemap}"]\n',
        )[n % 3]
    else:
        raise ValueError(f"unknown replay mix {mix!r}")
    return f'[[outlet]]\nname = "{host}"\n{sources}allowed_hosts = ["{host}"]\n'


def build_replay_web(
    corpora: Path,
    *,
    crawl_delay_s: float = 1.0,
    crawl_delay_every: int = 40,
    exclude: frozenset[str] = frozenset(),
    web: LocalWeb | None = None,
    mix: str = "rich",
    pages_from: Path | None = None,
) -> ReplayWeb:
    """Every ``crawl_delay_every``-th host (by name) asks for ``crawl_delay_s`` in its robots.txt.

    Pages whose URL is in ``exclude`` are left out; ``web`` may already serve other pages.
    ``mix``: "rich", every host with a home page, a section page, a feed and a news sitemap (about
    4.5 requests per article); "lean", every host with one source only, in turn a home page, a feed
    or a sitemap (about 2.4 requests per article: most hosts carry one or two articles).
    ``pages_from``: the articles come from that folder (:func:`load_independent_pages`) instead.
    """
    found = load_independent_pages(pages_from) if pages_from else load_corpus_pages(corpora)
    pages = {u: p for u, p in found.items() if u not in exclude}
    web = web or LocalWeb()
    hosts: dict[str, list[str]] = {}
    for url, page in pages.items():
        web.add(url, Resource(_read_page(page.source)))
        hosts.setdefault(urlsplit(url).netloc, []).append(url)
    delays: dict[str, float] = {}
    outlets = []
    for n, host in enumerate(sorted(hosts)):
        items = [pages[u] for u in sorted(hosts[host])]
        web.add(f"http://{host}/", Resource(_listing(host, f"{host} home", items, items[::-1])))
        web.add(
            f"http://{host}/replay-section/",
            Resource(_listing(host, f"{host} section", items[:1], items[::-1])),
        )
        web.add(
            f"http://{host}{PRIVATE_PREFIX}internal-draft-of-an-embargoed-story",
            Resource(b"<html><body><p>secret</p></body></html>"),
        )
        web.add(
            f"http://{host}/replay-feed.xml", Resource(_rss(host, items), content_type="application/rss+xml")
        )
        web.add(
            f"http://{host}/replay-news-sitemap.xml",
            Resource(_sitemap(items), content_type="application/xml"),
        )
        robots = f"User-agent: *\nDisallow: {PRIVATE_PREFIX}\n"
        if n % crawl_delay_every == 0:
            delays[host] = crawl_delay_s
            robots += f"Crawl-delay: {crawl_delay_s:g}\n"
        web.add(f"http://{host}/robots.txt", Resource(robots.encode(), content_type="text/plain"))
        outlets.append(_outlet_entry(host, mix, n))
    return ReplayWeb(
        web=web, outlets_toml="\n".join(outlets), pages=pages, hosts=hosts, crawl_delay_hosts=delays
    )
