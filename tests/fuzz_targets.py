"""What the fuzz tests (tests/test_fuzz.py) and the long fuzz run (bench/fuzz.py) feed hostile input to.

Each target takes what a stranger controls and must return a result or raise one of our errors
(``NewscrawlError``), never anything else, within its time bound.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from hypothesis import strategies as st

from newscrawl.core.records import Lease
from newscrawl.core.urls import is_fetchable, normalize_url
from scheduler.politeness import Robots
from workers.charset import decode_body
from workers.compression import gunzip_capped
from workers.extract import extract_article
from workers.fetch import FetchResponse
from workers.links import feed_links, sitemap_links
from workers.parse import parse_html

URL_CHARS = st.sampled_from([*"abc:/?#[]@!$&'()*+,;=%.-_~0123456789 \\\t\n\x00é中", "://", "http", "[::1]"])
_hosts = st.one_of(
    st.sampled_from(
        ["a.example", "xn--caf-dma.example", "[::1]", "127.0.0.1", "a.example.", "A.EXAMPLE", ".", ".."]
    ),
    st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z0-9-]{1,12}){1,3}", fullmatch=True),
)
_paths = st.lists(
    st.sampled_from(["/", "a", "..", ".", "%2e", "%", "é", "?", "&", "=", "#", "utm_source=x", ";", " "]),
    max_size=12,
).map("".join)
# Mostly well-formed http(s) URLs with hostile parts, so the success path is fuzzed too.
absolute_urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
    st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
    _hosts,
    st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":x"]),
    _paths,
)
url_text = st.one_of(st.text(max_size=80), st.lists(URL_CHARS, max_size=40).map("".join), absolute_urls)
xml_chunks = st.sampled_from(
    [
        "<?xml version='1.0'?>",
        "<!DOCTYPE x [<!ENTITY a 'aaaa'>]>",
        "<rss>",
        "</rss>",
        "<channel>",
        "<item>",
        "</item>",
        "<link>",
        "</link>",
        "http://a.example/2026/1/1/a-story-here",
        "<urlset>",
        "</urlset>",
        "<url><loc>",
        "</loc></url>",
        "<sitemapindex>",
        "<sitemap>",
        "&a;",
        "&#x0;",
        "<![CDATA[",
        "]]>",
        "<pubDate>",
        "Mon, 01 Jan 2026 00:00:00 GMT",
        "</pubDate>",
        "<news:publication_date>",
        "\x00",
        "é",
    ]
)
xml_bytes = st.one_of(
    st.binary(max_size=300), st.lists(xml_chunks, max_size=30).map(lambda p: "".join(p).encode())
)
html_chunks = st.sampled_from(
    [
        "<html>",
        "<head>",
        "<title>",
        "</title>",
        "<meta property='og:title' content='x'>",
        "<body>",
        "<article>",
        "<p>",
        "</p>",
        "<div>",
        "</div>",
        "<a href='",
        "http://[oops/",
        "'>",
        "</a>",
        "<base href='//x'>",
        "<script type='application/ld+json'>",
        "</script>",
        '{"@type":"NewsArticle","headline":',
        '"h"}',
        "[[[",
        "]]]",
        '{"author":{"name":null}}',
        "<time datetime='2026-13-45'>",
        "text " * 5,
        "\x00",
        "&#xD800;",
        "<!--",
        "-->",
        "<link rel='canonical' href='",
        "javascript:x",
        "<meta name='author' content='By A and B'>",
        "<div class='entry-content",
        "&#xFFFE;",
        "<p>" + "word " * 120 + "</p>",
    ]
)
html_text = st.one_of(st.text(max_size=300), st.lists(html_chunks, max_size=40).map("".join))


def target_normalize(data: tuple[str, str | None]) -> Any:
    url, base = data
    result = normalize_url(url, base)
    assert result.startswith(("http://", "https://")) and urlsplit(result).hostname
    return is_fetchable(result, 2048)


def target_robots(data: tuple[str, str]) -> Any:
    text, url = data
    robots = Robots(text, "newscrawl")
    return robots.allowed(
        url if url.startswith("http") else "http://a.example/" + url
    ), robots.crawl_delay_s()


def target_feed(body: bytes) -> Any:
    return feed_links(body, "http://a.example/feed.xml")


def target_sitemap(body: bytes) -> Any:
    return sitemap_links(body, "http://a.example/sitemap.xml")


def target_decode(data: tuple[bytes, str | None]) -> Any:
    body, content_type = data
    return decode_body(body, content_type, "http://a.example/")


def target_gunzip(body: bytes) -> Any:
    return gunzip_capped(b"\x1f\x8b" + body, "http://a.example/", 10_000)


def target_gzip_roundtrip(body: bytes) -> Any:
    assert gunzip_capped(gzip.compress(body), "u", len(body)) == body


def target_extract(text: str) -> Any:
    return extract_article(parse_html(text, "http://a.example/2026/11/30/a-story"))


def target_json_ld(value: Any) -> Any:
    script = json.dumps(value)
    html = (
        f"<html><head><script type='application/ld+json'>{script}</script></head>"
        f"<body><p>{'word ' * 60}</p></body></html>"
    )
    return extract_article(parse_html(html, "http://a.example/2026/11/30/a-story"))


def target_pipeline(text: str) -> Any:
    from newscrawl.app.factory import build_processor
    from newscrawl.core.settings import load_settings

    processor = build_processor(load_settings(), [])
    lease = Lease(
        url="http://a.example/2026/11/30/a-story", host="a.example", kind="article", outlet=None, depth=1
    )
    body = text.encode("utf-8", "surrogatepass")
    response = FetchResponse(url=lease.url, final_url=lease.url, status=200, headers={}, body=body, text=text)
    result = processor.process(lease, response)  # never raises: errors ride on the result
    return result


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "@type",
                    "headline",
                    "author",
                    "name",
                    "datePublished",
                    "@graph",
                    "articleBody",
                    "image",
                    "url",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)

TARGETS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "normalize_url": (target_normalize, st.tuples(url_text, st.none() | absolute_urls)),
    "robots": (target_robots, st.tuples(st.text(max_size=300), url_text)),
    "feed": (target_feed, xml_bytes),
    "sitemap": (target_sitemap, xml_bytes),
    "decode": (target_decode, st.tuples(st.binary(max_size=300), st.none() | st.text(max_size=40))),
    "gunzip": (target_gunzip, st.binary(max_size=200)),
    "gzip_roundtrip": (target_gzip_roundtrip, st.binary(max_size=2000)),
    "extract": (target_extract, html_text),
    "json_ld": (target_json_ld, json_values),
    "pipeline": (target_pipeline, html_text),
}
