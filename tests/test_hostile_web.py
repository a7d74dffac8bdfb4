"""The hostile web: every misbehaviour bounded in bytes, memory and time, with its own error.

Each case runs the installed command a user runs (``newscrawl extract URL`` or ``newscrawl crawl
--until-idle``) in its own process against ``tests/hostile_web.py`` on loopback, with only that
server's address allowed. For every case: no crash (exit status 0, or 1 with a JSON error for
the item), peak RSS within twice the same command's on a normal page, wall time within the
configured total timeout plus start-up, the expected error kind, and no request reaching a
refused address (a decoy server on another loopback address counts what it receives).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.hostile_web import HostileWeb, compressed, endless, fixed, raw

TOTAL_TIMEOUT_S = 3.0
START_UP_S = 8.0  # interpreter, lxml, trafilatura: measured 1-2 s, loaded machines do worse
MAX_BODY = 2_000_000
TEXT = " ".join(
    ["The council met on Tuesday to discuss the harbour budget and the new ferry timetable."] * 20
)
ARTICLE = (
    f"<html><head><title>Harbour budget</title><meta property='og:type' content='article'></head>"
    f"<body><article><h1>Harbour budget</h1><p>{TEXT}</p><p>{TEXT}</p></article></body></html>"
).encode()
BIG = 200 * 1024 * 1024  # what the bombs inflate to


def env() -> dict[str, str]:
    return {
        **os.environ,
        "NEWSCRAWL_FETCH__TOTAL_TIMEOUT_S": str(TOTAL_TIMEOUT_S),
        "NEWSCRAWL_FETCH__READ_TIMEOUT_S": "2",
        "NEWSCRAWL_FETCH__CONNECT_TIMEOUT_S": "2",
        "NEWSCRAWL_FETCH__MAX_BODY_BYTES": str(MAX_BODY),
        "NEWSCRAWL_POLITENESS__MIN_DELAY_MS": "0",
        "NEWSCRAWL_POLITENESS__BACKOFF_BASE_S": "0.2",
        "NEWSCRAWL_POLITENESS__MAX_CRAWL_DELAY_S": "1",
        "NEWSCRAWL_FRONTIER__MAX_ATTEMPTS": "2",
        "NEWSCRAWL_FRONTIER__HOST_PAGE_BUDGET": "200",
        "NEWSCRAWL_LOG_LEVEL": "WARNING",
    }


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    wall_s: float


def _high_water_mb(pid: int) -> float | None:
    """The process's own peak RSS (VmHWM: this address space's, not what it inherited)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def run(args: list[str], extra_env: dict[str, str] | None = None) -> Run:
    """The command in its own process, its peak RSS read from /proc while it runs.

    wait4's ru_maxrss would not do: a child spawned from this (large) test process starts with
    the parent's high-water mark.
    """
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "newscrawl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**env(), **(extra_env or {})},
    )
    peak = 0.0
    with ThreadPoolExecutor(2) as pool:
        out = pool.submit(proc.stdout.read)  # type: ignore[union-attr]
        err = pool.submit(proc.stderr.read)  # type: ignore[union-attr]
        while proc.poll() is None:
            peak = max(peak, _high_water_mb(proc.pid) or 0.0)
            time.sleep(0.01)
        stdout, stderr = out.result(), err.result()
    return Run(
        proc.returncode,
        stdout.decode("utf-8", "replace"),
        stderr.decode("utf-8", "replace"),
        peak,
        time.monotonic() - started,
    )


def gz_no_encoding(size: int) -> bytes:
    return gzip.compress(b"<html><body>" + b" " * size, 9)


# path -> (route, expected kind; "article" when the page must be extracted)
EXTRACT_CASES: dict[str, tuple[Any, str]] = {
    # compression
    "/gzip-bomb": (
        fixed(body=compressed("gzip", BIG), headers={"Content-Encoding": "gzip"}),
        "body_too_large",
    ),
    "/deflate-bomb": (
        fixed(body=compressed("deflate", BIG), headers={"Content-Encoding": "deflate"}),
        "body_too_large",
    ),
    "/brotli-bomb": (fixed(body=compressed("br", BIG), headers={"Content-Encoding": "br"}), "body_too_large"),
    "/nested-gzip-bomb": (
        fixed(body=gzip.compress(gz_no_encoding(BIG)), headers={"Content-Encoding": "gzip"}),
        "body_too_large",
    ),
    "/gzip-without-content-encoding": (fixed(body=gz_no_encoding(BIG)), "body_too_large"),
    "/corrupt-gzip": (
        fixed(body=b"\x1f\x8b\x08\x00garbage" * 50, headers={"Content-Encoding": "gzip"}),
        "protocol",
    ),
    "/zstd-garbage": (
        fixed(body=b"\x28\xb5\x2f\xfd" + b"x" * 500, headers={"Content-Encoding": "zstd"}),
        "protocol",
    ),
    # bodies
    "/endless-chunked": (
        endless(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"10000\r\n" + b"a" * 0x10000 + b"\r\n",
        ),
        "body_too_large",
    ),
    "/over-cap-length": (fixed(body=b"<p>" + b"x" * (MAX_BODY + 10)), "body_too_large"),
    "/short-body": (
        raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<p>hi"),
        "protocol",
    ),
    "/huge-404": (
        endless(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n", b"x" * 65536),
        "http_404",
    ),
    "/binary-as-html": (fixed(body=bytes(range(256)) * 64), "content_type"),
    # slow peers
    "/slow-body": (
        endless(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n",
            b"a",
            interval_s=0.5,
        ),
        "timeout",
    ),
    "/slow-headers": (endless(b"HTTP/1.1 200 OK\r\n", b"X", interval_s=0.3), "timeout"),
    "/endless-headers": (endless(b"HTTP/1.1 200 OK\r\n", b"X-Pad: " + b"p" * 100 + b"\r\n"), "protocol"),
    "/huge-header": (raw(b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 200_000 + b"\r\n\r\n"), "protocol"),
    "/many-headers": (
        raw(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(20_000)) + b"\r\n"),
        "protocol",
    ),
    "/not-http": (raw(b"SSH-2.0-OpenSSH_9.2\r\n"), "protocol"),
    "/chunk-overflow": (
        raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"FFFFFFFFFFFFFFFFFFFF\r\nx"
        ),
        "protocol",
    ),
    # redirects
    "/redirect-loop": (fixed(302, headers={"Location": "/redirect-loop-b"}), "redirects"),
    "/redirect-loop-b": (fixed(302, headers={"Location": "/redirect-loop"}), "redirects"),
    "/redirect-chain": (fixed(301, headers={"Location": "/hop/1"}), "redirects"),
    "/to-metadata": (
        fixed(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
        "blocked_address",
    ),
    "/to-zero": (fixed(302, headers={"Location": "http://0.0.0.0:{decoy_port}/"}), "blocked_address"),
    "/to-other-loopback": (
        fixed(302, headers={"Location": "http://127.0.0.2:{decoy_port}/"}),
        "blocked_address",
    ),
    "/to-v6-loopback": (fixed(302, headers={"Location": "http://[::1]:{decoy_port}/"}), "blocked_address"),
    "/to-v4-mapped": (
        fixed(302, headers={"Location": "http://[::ffff:127.0.0.2]:{decoy_port}/"}),
        "blocked_address",
    ),
    # aiohttp refuses the decimal form outright: no request is made, the URL is invalid
    "/to-decimal-ip": (
        fixed(302, headers={"Location": "http://2130706434:{decoy_port}/"}),
        "invalid_url",
    ),
    "/to-file": (fixed(302, headers={"Location": "file:///etc/passwd"}), "invalid_url"),
    "/to-data": (fixed(302, headers={"Location": "data:text/html,<p>hi</p>"}), "invalid_url"),
    # charsets: read, not refused
    "/invalid-utf8": (fixed(body=ARTICLE.replace(b"Tuesday", b"Tues\xff\xfeday")), "article"),
    "/unknown-charset": (
        fixed(body=ARTICLE, headers={"Content-Type": "text/html; charset=x-klingon"}),
        "article",
    ),
    "/utf16": (fixed(body=b"\xff\xfe" + ARTICLE.decode().encode("utf-16-le")), "article"),
    # structure
    "/deep-divs": (
        fixed(body=b"<html><body>" + b"<div>" * 100_000 + ARTICLE[ARTICLE.index(b"<article>") :]),
        "article",
    ),
    # nested as deep, each level different: parsed without the depth limit, text still out of reach
    "/deep-varied-divs": (
        fixed(
            body=b"<html><body>"
            + b"".join(b"<div class='c%d'>" % i for i in range(20_000))
            + ARTICLE[ARTICLE.index(b"<article>") :]
        ),
        "extraction",
    ),
    "/deep-json-ld": (
        fixed(
            body=ARTICLE.replace(
                b"</head>",
                b'<script type="application/ld+json">'
                + b"[" * 100_000
                + b"]" * 100_000
                + b"</script></head>",
            )
        ),
        "article",
    ),
}
for hop in range(1, 12):
    EXTRACT_CASES[f"/hop/{hop}"] = (fixed(301, headers={"Location": f"/hop/{hop + 1}"}), "redirects")
SKIPPED_AS_CASES = {f"/hop/{hop}" for hop in range(1, 12)} | {"/redirect-loop-b"}


@pytest.fixture(scope="module")
def decoy() -> Iterator[HostileWeb]:
    """A server on a loopback address the crawl may not reach: it must see no request."""
    web = HostileWeb(host="127.0.0.2").start()
    web.add("/", fixed(body=ARTICLE))
    yield web
    web.stop()


@pytest.fixture(scope="module")
def hostile(decoy: HostileWeb) -> Iterator[HostileWeb]:
    web = HostileWeb().start()
    for path, (route, _kind) in EXTRACT_CASES.items():
        web.add(path, route)
    # Redirect targets name the decoy's port once it is known.
    for path in ("/to-zero", "/to-other-loopback", "/to-v6-loopback", "/to-v4-mapped", "/to-decimal-ip"):
        location = {
            "/to-zero": "0.0.0.0",
            "/to-other-loopback": "127.0.0.2",
            "/to-v6-loopback": "[::1]",
            "/to-v4-mapped": "[::ffff:127.0.0.2]",
            "/to-decimal-ip": "2130706434",
        }[path]
        web.add(path, fixed(302, headers={"Location": f"http://{location}:{decoy.port}/"}))
    web.add("/normal", fixed(body=ARTICLE))
    yield web
    web.stop()


def _extract(web: HostileWeb, path: str) -> tuple[Run, dict[str, Any]]:
    result = run(["extract", web.url(path), "--allow-network", "127.0.0.1/32", "--jsonl"])
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, (path, result.stdout[-500:], result.stderr[-2000:])
    return result, json.loads(lines[0])


@pytest.fixture(scope="module")
def baseline(hostile: HostileWeb) -> Run:
    result, doc = _extract(hostile, "/normal")
    assert result.returncode == 0 and "harbour budget" in doc["body"], result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def extract_results(hostile: HostileWeb, baseline: Run) -> dict[str, tuple[Run, dict[str, Any]]]:
    paths = [p for p in EXTRACT_CASES if p not in SKIPPED_AS_CASES]
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(paths, pool.map(lambda p: _extract(hostile, p), paths), strict=True))


@pytest.mark.parametrize("path", [p for p in EXTRACT_CASES if p not in SKIPPED_AS_CASES])
def test_each_hostile_page_is_bounded_with_its_own_error(
    path: str, extract_results: dict[str, tuple[Run, dict[str, Any]]], baseline: Run
) -> None:
    result, doc = extract_results[path]
    expected = EXTRACT_CASES[path][1]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    if expected == "article":
        assert result.returncode == 0, doc
        assert "harbour budget" in doc["body"].lower()
    else:
        assert result.returncode == 1
        assert doc["error"]["kind"] == expected, doc
        assert doc["error"]["message"]
    assert result.peak_rss_mb <= 2 * baseline.peak_rss_mb, (result.peak_rss_mb, baseline.peak_rss_mb)
    assert result.wall_s <= TOTAL_TIMEOUT_S + START_UP_S


def test_no_request_reached_a_refused_address(
    extract_results: dict[str, tuple[Run, dict[str, Any]]], decoy: HostileWeb
) -> None:
    assert extract_results  # every redirect case ran
    assert decoy.requests == []


# --- crawl cases: feeds, sitemaps, traps and hostile headers, through `newscrawl crawl` ---------

BUDGET = 200  # NEWSCRAWL_FRONTIER__HOST_PAGE_BUDGET in env()
CRAWL_WALL_S = 60.0


def _feed(declarations: str, title_entity: str, link: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n{declarations}\n]>\n'
        '<rss version="2.0"><channel><title>t</title>'
        f"<item><title>&{title_entity};</title><link>{link}</link></item></channel></rss>"
    ).encode()


def _urlset(urls: list[str], head: str = "") -> bytes:
    body = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return f'<?xml version="1.0"?>\n{head}<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'.encode()


def _index(urls: list[str]) -> bytes:
    body = "".join(f"<sitemap><loc>{u}</loc></sitemap>" for u in urls)
    return f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>'.encode()


def _listing(links: list[str]) -> bytes:
    return (
        "<html><body><h1>Front</h1>"
        + "".join(f"<div><a href='{u}'>{u}</a></div>" for u in links)
        + "</body></html>"
    ).encode()


def _day(n: int) -> str:
    return f"/c/calendar/2026/01/{n:02d}/the-harbour-calendar-day"


def _story(n: int) -> str:
    return f"/c/2026/11/30/the-council-story-number-{n}"


@dataclass
class CrawlCase:
    seeds: dict[str, list[str]]  # urls / feeds / sitemaps -> paths
    articles: int  # indexed at the end
    max_urls: int | None = None  # frontier URLs at most (traps and budgets)
    left_for_later: bool = False
    env: dict[str, str] | None = None


CRAWL_CASES: dict[str, CrawlCase] = {
    "feed-quadratic": CrawlCase({"feeds": ["/c/feed-quadratic.xml"]}, 1),
    "feed-billion-laughs": CrawlCase({"feeds": ["/c/feed-laughs.xml"]}, 1),
    "feed-xxe": CrawlCase({"feeds": ["/c/feed-xxe.xml"]}, 1),
    "sitemap-internal-dtd": CrawlCase({"sitemaps": ["/c/sitemap-dtd.xml"]}, 1),
    "sitemap-external-dtd": CrawlCase({"sitemaps": ["/c/sitemap-external-dtd.xml"]}, 1),
    "sitemap-gz": CrawlCase({"sitemaps": ["/c/sitemap-news.xml.gz"]}, 1),
    "sitemap-index-loop": CrawlCase({"sitemaps": ["/c/index-loop.xml"]}, 1),
    "sitemap-index-huge": CrawlCase({"sitemaps": ["/c/index-huge.xml"]}, 0, max_urls=BUDGET),
    "sitemap-50k-urls": CrawlCase({"sitemaps": ["/c/urls-50k.xml"]}, 0, max_urls=BUDGET),
    "links-20k": CrawlCase({"urls": ["/c/links-20k"]}, 0, max_urls=BUDGET),
    "session-ids": CrawlCase({"urls": ["/c/sessions"]}, 0, max_urls=BUDGET),
    "retry-after-forever": CrawlCase({"urls": ["/c/throttled-home"]}, 1, left_for_later=True),
    # every day of a calendar links the next one: with article links followed, depth stops it
    "calendar-depth": CrawlCase(
        {"urls": ["/c/calendar"]},
        3,
        max_urls=1 + 3,  # the seed and frontier.max_depth (3) levels of days
        env={"NEWSCRAWL_FRONTIER__FOLLOW_ARTICLE_LINKS": "true"},
    ),
}


def _add_crawl_routes(web: HostileWeb, decoy: HostileWeb) -> None:
    story = web.url(_story(1))
    web.add(_story(1), fixed(body=ARTICLE))
    web.add("/c/calendar", fixed(body=_listing([_day(1)])))
    for day in range(1, 40):
        page = ARTICLE.replace(b"Harbour budget", f"Day {day} of the harbour".encode())
        link = f"<a href='{_day(day + 1)}'>next day</a></article>".encode()
        web.add(_day(day), fixed(body=page.replace(b"</article>", link)))
    web.add(
        "/c/feed-quadratic.xml",
        fixed(
            body=_feed(f'<!ENTITY a "{"x" * 50_000}">\n<!ENTITY b "y">', "a;&a" * 3000 + ";&a", story),
            headers={"Content-Type": "application/rss+xml"},
        ),
    )
    laughs = '<!ENTITY l0 "ha">\n' + "".join(
        f'<!ENTITY l{n} "{("&l" + str(n - 1) + ";") * 10}">\n' for n in range(1, 10)
    )
    web.add(
        "/c/feed-laughs.xml",
        fixed(body=_feed(laughs, "l9", story), headers={"Content-Type": "application/rss+xml"}),
    )
    xxe = f'<!ENTITY file SYSTEM "file:///etc/passwd">\n<!ENTITY net SYSTEM "http://127.0.0.2:{decoy.port}/xxe">'
    web.add(
        "/c/feed-xxe.xml",
        fixed(body=_feed(xxe, "file;&net", story), headers={"Content-Type": "application/rss+xml"}),
    )
    web.add("/c/sitemap-plain.xml", fixed(body=_urlset([story]), headers={"Content-Type": "application/xml"}))
    web.add(
        "/c/sitemap-dtd.xml",
        fixed(
            body=_urlset([story], '<!DOCTYPE urlset [\n<!ENTITY a "aaaa">\n]>\n'),
            headers={"Content-Type": "application/xml"},
        ),
    )
    web.add(
        "/c/sitemap-external-dtd.xml",
        fixed(
            body=_urlset([story], f'<!DOCTYPE urlset SYSTEM "http://127.0.0.2:{decoy.port}/evil.dtd">\n'),
            headers={"Content-Type": "application/xml"},
        ),
    )
    web.add(
        "/c/sitemap-news.xml.gz",
        fixed(body=gzip.compress(_urlset([story])), headers={"Content-Type": "application/octet-stream"}),
    )
    web.add(
        "/c/index-loop.xml",
        fixed(
            body=_index([web.url("/c/index-loop.xml"), web.url("/c/index-loop-2.xml")]),
            headers={"Content-Type": "application/xml"},
        ),
    )
    web.add(
        "/c/index-loop-2.xml",
        fixed(
            body=_index([web.url("/c/index-loop.xml"), web.url("/c/sitemap-dtd.xml")]),
            headers={"Content-Type": "application/xml"},
        ),
    )
    web.add(
        "/c/index-huge.xml",
        fixed(
            body=_index([web.url(f"/c/child-{i}.xml") for i in range(60_000)]),
            headers={"Content-Type": "application/xml"},
        ),
    )
    web.add(
        "/c/urls-50k.xml",
        fixed(
            body=_urlset([web.url(_story(1000 + i)) for i in range(50_000)]),
            headers={"Content-Type": "application/xml"},
        ),
    )
    web.add("/c/links-20k", fixed(body=_listing([_story(100_000 + i) for i in range(20_000)])))
    web.add(
        "/c/sessions", fixed(body=_listing([f"{_story(7)}?sid={i:08x}&PHPSESSID={i}" for i in range(5_000)]))
    )
    web.add(
        "/c/throttled-home", fixed(body=_listing([_story(1), "/c/2026/11/30/throttled-story-for-ever-more"]))
    )
    web.add(
        "/c/2026/11/30/throttled-story-for-ever-more",
        fixed(429, b"slow down", headers={"Retry-After": "9" * 40}),
    )


def _crawl(web: HostileWeb, case: CrawlCase, data: Path) -> tuple[Run, dict[str, Any]]:
    seeds = {key: [web.url(p) for p in paths] for key, paths in case.seeds.items()}
    lines = ["[[outlet]]", 'name = "hostile"'] + [f"{k} = {json.dumps(v)}" for k, v in seeds.items()]
    data.mkdir(parents=True)
    (data / "outlets.toml").write_text("\n".join(lines) + "\n")
    result = run(
        [
            "crawl",
            "--outlets",
            str(data / "outlets.toml"),
            "--data",
            str(data / "d"),
            "--until-idle",
            "--quiet",
            "--allow-network",
            "127.0.0.1/32",
        ],
        # Big listings and sitemaps must meet the budget, not the body cap.
        {"NEWSCRAWL_FETCH__MAX_BODY_BYTES": str(8 * 1024 * 1024), **(case.env or {})},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result, json.loads(result.stdout)


@pytest.fixture(scope="module")
def crawl_results(
    hostile: HostileWeb, decoy: HostileWeb, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Run, dict[str, Any]]]:
    _add_crawl_routes(hostile, decoy)
    root = tmp_path_factory.mktemp("hostile-crawls")
    # The baseline: a plain sitemap naming one article.
    cases = {"baseline": CrawlCase({"sitemaps": ["/c/sitemap-plain.xml"]}, 1), **CRAWL_CASES}
    names = list(cases)
    with ThreadPoolExecutor(2) as pool:
        runs = pool.map(lambda n: _crawl(hostile, cases[n], root / n), names)
        return dict(zip(names, runs, strict=True))


@pytest.mark.parametrize("name", sorted(CRAWL_CASES))
def test_each_hostile_source_is_bounded(
    name: str, crawl_results: dict[str, tuple[Run, dict[str, Any]]]
) -> None:
    case = CRAWL_CASES[name]
    result, summary = crawl_results[name]
    baseline, _ = crawl_results["baseline"]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert summary["articles_indexed"] == case.articles, summary
    if case.max_urls is not None:
        assert sum(summary["frontier"]["urls"].values()) <= case.max_urls, summary["frontier"]
    assert ("left_for_later" in summary) == case.left_for_later, summary
    assert result.peak_rss_mb <= 2 * baseline.peak_rss_mb, (result.peak_rss_mb, baseline.peak_rss_mb)
    assert result.wall_s <= CRAWL_WALL_S


def test_no_crawl_request_reached_a_refused_address(
    crawl_results: dict[str, tuple[Run, dict[str, Any]]], decoy: HostileWeb
) -> None:
    assert crawl_results
    assert decoy.requests == []


def test_a_crawl_delay_far_above_the_cap_is_clamped(tmp_path: Path) -> None:
    web = HostileWeb().start()
    try:
        web.add(
            "/robots.txt",
            fixed(body=b"User-agent: *\nCrawl-delay: 100000\n", headers={"Content-Type": "text/plain"}),
        )
        web.add("/c/home", fixed(body=_listing([_story(1), _story(2)])))
        web.add(_story(1), fixed(body=ARTICLE))
        web.add(_story(2), fixed(body=ARTICLE.replace(b"Harbour budget", b"Ferry timetable")))
        result, summary = _crawl(web, CrawlCase({"urls": ["/c/home"]}, 2), tmp_path / "delay")
    finally:
        web.stop()
    assert summary["articles_indexed"] == 2
    assert result.wall_s < 3 * 1.0 + START_UP_S  # three fetches after robots.txt, 1 s apart (the cap)


def test_report(
    extract_results: dict[str, tuple[Run, dict[str, Any]]],
    crawl_results: dict[str, tuple[Run, dict[str, Any]]],
    baseline: Run,
) -> None:
    """With NEWSCRAWL_HOSTILE_REPORT=FILE, write every case's measured bounds (README's table)."""
    target = os.environ.get("NEWSCRAWL_HOSTILE_REPORT")
    rows = {
        path: {
            "kind": doc.get("error", {}).get("kind", "article"),
            "peak_rss_mb": round(r.peak_rss_mb, 1),
            "wall_s": round(r.wall_s, 2),
        }
        for path, (r, doc) in extract_results.items()
    }
    rows |= {
        name: {
            "articles": s["articles_indexed"],
            "frontier_urls": sum(s["frontier"]["urls"].values()),
            "peak_rss_mb": round(r.peak_rss_mb, 1),
            "wall_s": round(r.wall_s, 2),
        }
        for name, (r, s) in crawl_results.items()
    }
    rows["baseline-extract"] = {
        "peak_rss_mb": round(baseline.peak_rss_mb, 1),
        "wall_s": round(baseline.wall_s, 2),
    }
    assert all(row["peak_rss_mb"] > 20 for row in rows.values())  # the measurement itself worked
    if target:
        Path(target).write_text(json.dumps(rows, indent=1))
