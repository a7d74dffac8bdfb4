"""``newscrawl extract``: extraction only, from files or URLs, without crawling."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from newscrawl.app.cli.common import add_common, settings_from_args
from newscrawl.app.factory import build_fetcher
from newscrawl.core.errors import HOSTILE_INPUT_ERRORS, ConfigError, NewscrawlError
from newscrawl.core.settings import Settings


def _extract_one(raw: bytes, url: str, content_type: str | None, max_body_bytes: int) -> dict[str, Any]:
    from workers.charset import decode_body
    from workers.compression import gunzip_capped
    from workers.extract import extract_article
    from workers.parse import parse_html

    # A saved .html.gz (or a gzip body sent without Content-Encoding): inflated within the cap.
    raw = gunzip_capped(raw, url, max_body_bytes)
    text, _ = decode_body(raw, content_type, url)
    article = extract_article(parse_html(text, url))
    data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(article).items()}
    return data


async def _fetch_all(settings: Settings, urls: list[str]) -> list[tuple[str, bytes | Exception, str | None]]:
    fetcher = build_fetcher(settings)
    async with fetcher:
        out: list[tuple[str, bytes | Exception, str | None]] = []
        for url in urls:
            try:
                response = await fetcher.fetch(url)
                out.append((response.final_url, response.body, response.headers.get("content-type")))
            except NewscrawlError as exc:
                out.append((url, exc, None))
        return out


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    sources: list[tuple[str, bytes | Exception, str | None]] = []
    remote = [s for s in args.sources if s.startswith(("http://", "https://"))]
    # In the order given: two URLs that redirect to one page are two results.
    fetched = iter(asyncio.run(_fetch_all(settings, remote)) if remote else [])
    for source in args.sources:
        if source.startswith(("http://", "https://")):
            sources.append(next(fetched))
        else:
            path = Path(source)
            try:
                sources.append((args.url or path.resolve().as_uri(), path.read_bytes(), None))
            except OSError as exc:
                sources.append((source, ConfigError(f"cannot read {source}: {exc.strerror}"), None))
    status = 0
    for url, body, ctype in sources:
        try:
            if isinstance(body, Exception):
                raise body
            result = _extract_one(body, url, ctype, settings.fetch.max_body_bytes)
        except NewscrawlError as exc:
            result = {"url": url, "error": {"kind": exc.kind, "message": exc.message}}
            status = 1
        except HOSTILE_INPUT_ERRORS as exc:  # the same net as the crawl pipeline's
            result = {"url": url, "error": {"kind": "parse", "message": f"{type(exc).__name__}: {exc}"}}
            status = 1
        print(json.dumps(result, ensure_ascii=False, indent=None if args.jsonl else 2))
    return status


def register(sub: Any) -> None:
    p = sub.add_parser("extract", help="extract articles from files or URLs, without crawling")
    add_common(p)
    p.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
    p.add_argument("--url", help="the URL a saved file was fetched from")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    p.add_argument("--proxy")
    p.add_argument("--allow-network", action="append", metavar="CIDR")
    p.set_defaults(func=run)
