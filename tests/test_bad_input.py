"""Bad input gets a clear error for that URL; the crawl goes on and indexes the rest."""

from __future__ import annotations

import asyncio
import gzip
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newscrawl.app.engine import CrawlEngine
from newscrawl.app.factory import build_components
from newscrawl.app.localweb import LocalWeb, Resource
from scheduler.outlets import parse_outlets
from tests.conftest import make_settings

TEXT_EN = " ".join(
    ["The council met on Tuesday to discuss the harbour budget and the new ferry timetable."] * 12
)
TEXT_DE = " ".join(["Grüße aus Köln: Die Straßenbahn fährt über die Brücke, während der Regen fällt."] * 12)
TEXT_FR = " ".join(
    ["Le café crème coûte désormais plus cher à Paris, déplorent les habitués du quartier."] * 12
)


def _article(title: str, text: str) -> str:
    return (
        f"<html><head><title>{title}</title><meta property='og:type' content='article'></head>"
        f"<body><article><h1>{title}</h1><p>{text}</p><p>{text}</p></article></body></html>"
    )


GOOD = {
    "/news/malformed-html-article-with-broken-tags": Resource(
        (
            f"<html><head><title>Broken tags</title><body><div><p>{TEXT_EN}<b><i>unclosed <p>{TEXT_EN}"
            "</div></span></td></html></html>"
        ).encode()
    ),
    "/news/wrong-charset-declared-latin1-really-utf8": Resource(
        _article("Köln", TEXT_DE).encode("utf-8"), content_type="text/html; charset=iso-8859-1"
    ),
    "/news/missing-charset-windows-1252-body-text": Resource(
        _article("Café", TEXT_FR).encode("cp1252"), content_type="text/html"
    ),
    "/news/throttled-once-then-served-fine-story": Resource(
        _article("Throttled", TEXT_EN).encode(), throttle_first=1, retry_after_s=1
    ),
}
BAD = {
    "/news/binary-body-labelled-as-html-page": ("content_type", Resource(os.urandom(4096) + b"\x00" * 64)),
    "/news/image-served-instead-of-the-page": (
        "content_type",
        Resource(b"\x89PNG", content_type="image/png"),
    ),
    "/news/oversized-body-beyond-the-limit": (
        "body_too_large",
        Resource(b"<p>" + b"x" * 3_000_000 + b"</p>"),
    ),
    "/news/endless-body-that-never-stops": ("body_too_large", Resource(behaviour="endless")),
    "/news/gzip-bomb-small-on-the-wire-page": (
        "body_too_large",
        Resource(gzip.compress(b" " * 60_000_000), behaviour="gzip_bomb"),
    ),
    "/news/redirect-loop-between-two-pages": (
        "redirects",
        Resource(status=302, headers={"Location": "/news/redirect-loop-other-side-of-it"}),
    ),
    "/news/redirect-chain-that-is-far-too-long": (
        "redirects",
        Resource(status=301, headers={"Location": "/hop/1"}),
    ),
    "/news/slow-page-that-never-answers-at-all": ("timeout", Resource(behaviour="slow")),
    "/news/missing-page-that-is-gone-now": ("http_404", None),  # type: ignore[dict-item]
    "/news/server-error-that-keeps-failing-here": ("http_500", Resource(b"oops", status=500)),
    "/news/empty-html-document-with-no-text": ("parse", Resource(b"   ")),
    "/news/page-with-markup-but-no-text-at-all": (
        "extraction",
        Resource(
            b"<html><head><meta property='og:type' content='article'></head><body><div></div></body></html>"
        ),
    ),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def bad_web() -> Iterator[LocalWeb]:
    web = LocalWeb().start()
    base = web.direct_url("")
    links = [*GOOD, *BAD]
    web.add(
        base + "/",
        Resource(
            (
                "<html><body><h1>Front</h1>"
                + "".join(f"<div><a href='{p}'>{p}</a></div>" for p in links)
                + "<a href='/news/photo-of-the-harbour-at-night.jpg'>photo</a></body></html>"
            ).encode()
        ),
    )
    web.add(base + "/robots.txt", Resource(b"User-agent: *\nAllow: /\n", content_type="text/plain"))
    for path, res in GOOD.items():
        web.add(base + path, res)
    for path, (_kind, res) in BAD.items():
        if res is not None:
            web.add(base + path, res)
    web.add(
        base + "/news/redirect-loop-other-side-of-it",
        Resource(status=302, headers={"Location": "/news/redirect-loop-between-two-pages"}),
    )
    for hop in range(1, 12):
        web.add(base + f"/hop/{hop}", Resource(status=301, headers={"Location": f"/hop/{hop + 1}"}))
    yield web
    web.stop()


def _outlets(web: LocalWeb, dead_port: int) -> str:
    host = f"127.0.0.1:{web.port}"
    return (
        f'[[outlet]]\nname = "bad"\nurls = ["http://{host}/"]\nallowed_hosts = ["{host}"]\n\n'
        f'[[outlet]]\nname = "dead"\nurls = ["http://127.0.0.1:{dead_port}/"]\n'
        f'allowed_hosts = ["127.0.0.1:{dead_port}"]\n'
    )


def _crawl(web: LocalWeb, tmp: Path, **overrides: Any) -> dict[str, Any]:
    settings = make_settings(tmp, frontier={"max_attempts": 2}, **overrides)
    dead_port = _free_port()
    components = build_components(settings, parse_outlets(_outlets(web, dead_port)))
    stats = asyncio.run(CrawlEngine(components).run(until_idle=True))
    out = {
        "stats": stats,
        "docs": {d.url: d for d in components.index.export()},
        "errors": {e["url"]: e for e in components.frontier.errors()},  # type: ignore[attr-defined]
        "dead_port": dead_port,
    }
    components.close()
    return out


@pytest.fixture(scope="module")
def bad_crawl(bad_web: LocalWeb, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _crawl(
        bad_web,
        tmp_path_factory.mktemp("bad"),
        fetch={
            "allowed_networks": ["127.0.0.0/8"],
            "max_body_bytes": 1_000_000,
            "total_timeout_s": 2.0,
            "read_timeout_s": 1.5,
        },
        politeness={"min_delay_ms": 0, "backoff_base_s": 0.2},
    )


def test_each_bad_url_gets_its_own_error(bad_crawl: dict[str, Any], bad_web: LocalWeb) -> None:
    errors = bad_crawl["errors"]
    for path, (kind, _res) in BAD.items():
        url = bad_web.direct_url(path)
        assert url in errors, f"no error recorded for {path}"
        assert errors[url]["kind"] == kind, (path, errors[url])
        assert errors[url]["message"]
        assert url not in bad_crawl["docs"], f"{path} was indexed"


def test_refused_connection_is_recorded(bad_crawl: dict[str, Any]) -> None:
    url = f"http://127.0.0.1:{bad_crawl['dead_port']}/"
    assert bad_crawl["errors"][url]["kind"] == "connect"


def test_good_pages_are_indexed_correctly(bad_crawl: dict[str, Any], bad_web: LocalWeb) -> None:
    docs = bad_crawl["docs"]
    assert set(docs) == {bad_web.direct_url(p) for p in GOOD}
    assert (
        "Grüße aus Köln" in docs[bad_web.direct_url("/news/wrong-charset-declared-latin1-really-utf8")].body
    )
    assert "café crème coûte" in docs[bad_web.direct_url("/news/missing-charset-windows-1252-body-text")].body
    assert "harbour budget" in docs[bad_web.direct_url("/news/malformed-html-article-with-broken-tags")].body


def test_429_is_retried_after_retry_after(bad_web: LocalWeb, bad_crawl: dict[str, Any]) -> None:
    path = "/news/throttled-once-then-served-fine-story"
    hits = [r for r in bad_web.log if r.url.endswith(path)]
    assert [r.status for r in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 1.0


def test_private_addresses_refused_by_default(bad_web: LocalWeb, tmp_path: Path) -> None:
    before = len(bad_web.log)
    result = _crawl(bad_web, tmp_path, politeness={"min_delay_ms": 0})
    assert len(bad_web.log) == before, "a request reached the loopback server"
    assert not result["docs"]
    home = bad_web.direct_url("/")
    assert result["errors"][home]["kind"] == "blocked_address"


def test_names_resolving_to_loopback_are_refused(tmp_path: Path) -> None:
    from newscrawl.core.errors import BlockedAddress
    from newscrawl.core.settings import FetchSettings
    from workers.fetch import Fetcher

    web = LocalWeb({"http://127.0.0.1/": Resource(b"hi")}).start()
    try:

        async def go() -> None:
            async with Fetcher(FetchSettings(trust_env=False)) as fetcher:
                await fetcher.fetch(f"http://localhost:{web.port}/")

        with pytest.raises(BlockedAddress):
            asyncio.run(go())
    finally:
        web.stop()
    assert not web.log


def test_unchanged_page_without_validators_is_not_reextracted(tmp_path: Path) -> None:
    web = LocalWeb().start()
    try:
        host = f"127.0.0.1:{web.port}"
        article = f"http://{host}/news/council-approves-the-new-harbour-budget"
        web.add(
            f"http://{host}/",
            Resource(f"<html><body><a href='{article}'>Budget</a></body></html>".encode(), validators=False),
        )
        web.add(article, Resource(_article("Budget", TEXT_EN).encode(), validators=False))
        web.add(f"http://{host}/robots.txt", Resource(b"", status=404, validators=False))
        outlets = parse_outlets(
            f'[[outlet]]\nname = "x"\nurls = ["http://{host}/"]\nallowed_hosts = ["{host}"]\n'
        )
        runs = []
        for interval in (0.5, 3600.0):
            settings = make_settings(
                tmp_path,
                fetch={"allowed_networks": ["127.0.0.0/8"]},
                politeness={"min_delay_ms": 0},
                frontier={"revisit": "fixed", "revisit_interval_s": interval},
            )
            components = build_components(settings, outlets)
            runs.append(asyncio.run(CrawlEngine(components).run(until_idle=True)))
            components.close()
            time.sleep(0.6)
    finally:
        web.stop()
    first, second = runs
    assert first.articles == 1 and first.by_kind["listing"] == 1
    assert second.fetched == 1 and second.unchanged == 1  # fetched again, same bytes: no parsing
    assert second.articles == 0 and not second.by_kind
