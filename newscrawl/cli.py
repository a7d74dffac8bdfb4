"""The ``newscrawl`` command."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newscrawl.errors import ConfigError, NewscrawlError
from newscrawl.factory import build_components, build_dedup_store, build_fetcher, build_frontier, build_index
from newscrawl.log import configure_logging
from newscrawl.settings import Settings, load_settings
from scheduler.outlets import load_outlets

# Each command imports what it runs: the scheduler never loads the extraction stack.
if TYPE_CHECKING:
    from indexer.base import SearchHit
    from newscrawl.engine import CrawlStats


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides: dict[str, Any] = dict(extra)
    if getattr(args, "data", None):
        overrides["data_dir"] = args.data
    if getattr(args, "outlets", None):
        overrides["outlets_file"] = args.outlets
    fetch: dict[str, Any] = {}
    if getattr(args, "proxy", None):
        fetch["proxy"] = args.proxy
    if getattr(args, "allow_network", None):
        fetch["allowed_networks"] = args.allow_network
    if fetch:
        overrides["fetch"] = fetch
    return load_settings(getattr(args, "config", None), **overrides)


class Progress:
    """One status line on a terminal; a structured log line every few seconds elsewhere."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, stats: CrawlStats) -> None:
        s = stats.as_dict()
        line = (
            f"{s['elapsed_s']:7.1f}s  fetched {s['pages_fetched']:5d}  articles {s['articles_indexed']:5d}"
            f"  errors {sum(stats.errors.values()):4d}  not modified {s['not_modified']:4d}"
        )
        if self._tty:
            sys.stderr.write("\r" + line)
            sys.stderr.flush()
        elif time.monotonic() - self._last > 5:
            self._last = time.monotonic()
            sys.stderr.write(line + "\n")

    def done(self) -> None:
        if self._tty:
            sys.stderr.write("\n")


def _run_crawl(
    settings: Settings,
    outlets_path: str | None,
    until_idle: bool,
    max_pages: int | None,
    progress: bool = True,
) -> dict[str, Any]:
    from newscrawl.engine import CrawlEngine

    outlets = load_outlets(outlets_path or settings.outlets_file)
    components = build_components(settings, outlets)
    show = Progress() if progress else None
    engine = CrawlEngine(components, on_progress=show)

    async def main() -> CrawlStats:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, engine.stop)
        return await engine.run(until_idle=until_idle, max_pages=max_pages)

    try:
        stats = asyncio.run(main())
    finally:
        if show:
            show.done()
    summary = stats.as_dict()
    summary["index_documents"] = components.index.count()
    summary["frontier"] = components.frontier.stats()
    components.close()
    return summary


def cmd_crawl(args: argparse.Namespace) -> int:
    settings = _settings(args)
    summary = _run_crawl(settings, args.outlets, args.until_idle, args.max_pages, progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    return 0


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    doc = hit.document.to_dict()
    doc.pop("body")
    return {"score": round(hit.score, 4), "snippet": hit.snippet, "appearances": hit.appearances, **doc}


def cmd_search(args: argparse.Namespace) -> int:
    from indexer.base import SearchQuery

    settings = _settings(args)
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError as exc:
            raise ConfigError(f"--since: not an ISO date: {args.since}") from exc
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    index = build_index(settings)
    hits = index.search(
        SearchQuery(
            text=args.query, outlet=args.outlet, since=since, limit=args.limit, include_duplicates=args.all
        )
    )
    index.close()
    if args.json:
        for hit in hits:
            print(json.dumps(_hit_json(hit), ensure_ascii=False))
        return 0
    if not hits:
        print("no results")
    for n, hit in enumerate(hits, 1):
        d = hit.document
        when = d.published_at.strftime("%Y-%m-%d %H:%M") if d.published_at else "          "
        print(f"{n:2d}. [{d.outlet}] {when}  {d.title}")
        print(f"    {d.url}")
        if hit.snippet:
            print(f"    {hit.snippet}")
        if hit.appearances:
            print(f"    also at: {', '.join(hit.appearances)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    index = build_index(_settings(args))
    for doc in index.export():
        sys.stdout.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
    index.close()
    return 0


def _extract_one(raw: bytes, url: str, content_type: str | None) -> dict[str, Any]:
    from workers.charset import decode_body
    from workers.extract import extract_article
    from workers.parse import parse_html

    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
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


def cmd_extract(args: argparse.Namespace) -> int:
    settings = _settings(args)
    sources: list[tuple[str, bytes | Exception, str | None]] = []
    remote = [s for s in args.sources if s.startswith(("http://", "https://"))]
    fetched = dict((u, (b, c)) for u, b, c in asyncio.run(_fetch_all(settings, remote))) if remote else {}
    fetched_iter = iter(fetched.items())
    for source in args.sources:
        if source.startswith(("http://", "https://")):
            url, (body, ctype) = next(fetched_iter)
            sources.append((url, body, ctype))
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
            result = _extract_one(body, url, ctype)
        except NewscrawlError as exc:
            result = {"url": url, "error": {"kind": exc.kind, "message": exc.message}}
            status = 1
        print(json.dumps(result, ensure_ascii=False, indent=None if args.jsonl else 2))
    return status


def cmd_stats(args: argparse.Namespace) -> int:
    settings = _settings(args)
    components = build_components(settings, [])
    out: dict[str, Any] = {
        "frontier": components.frontier.stats(),
        "dedup": components.dedup_store.stats(),
        "index_documents": components.index.count(),
        "canonical_documents": components.index.count(include_duplicates=False),
    }
    components.close()
    if settings.frontier.backend == "redis":
        from newscrawl.cluster_stats import cluster_stats

        out.update(cluster_stats(settings))
    elif settings.index.backend == "elasticsearch":
        import redis

        from newscrawl.cluster_stats import stream_stats

        client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
        out["index_stream"] = stream_stats(settings, client)
        client.close()
    print(json.dumps(out, indent=2))
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from indexer.engine import IndexAdmin

    settings = _settings(args)
    if settings.index.backend != "elasticsearch":
        raise ConfigError("index init/status/reindex manage a cluster: set index.backend = 'elasticsearch'")
    admin = IndexAdmin(settings)
    try:
        result = {"init": admin.init, "status": admin.status, "reindex": admin.reindex}[args.action]()
    finally:
        admin.client.close()
    print(json.dumps(result, indent=2))
    return 0


def cmd_indexer(args: argparse.Namespace) -> int:
    import os
    import socket

    from indexer.stream import StreamIndexer

    settings = _settings(args)
    if settings.index.backend != "elasticsearch":
        raise ConfigError("the indexer loads a cluster: set index.backend = 'elasticsearch'")
    from newscrawl.metrics import serve

    serve(settings.metrics.indexer_port)
    consumer = args.name or f"{socket.gethostname()}-{os.getpid()}"
    indexer = StreamIndexer(settings, consumer)

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, indexer.stop)
        stats = await indexer.run(until_drained=args.until_drained)
        return {k: v for k, v in vars(stats).items() if k != "started_at"}

    print(json.dumps(asyncio.run(main()), indent=2))
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    from scheduler.redis_frontier import RedisFrontier
    from scheduler.service import CeleryDispatcher, Scheduler

    settings = _settings(args)
    if settings.frontier.backend != "redis":
        raise ConfigError("the scheduler feeds Celery workers: set frontier.backend = 'redis'")
    outlets = load_outlets(settings.outlets_file)
    frontier = build_frontier(settings, outlets)
    assert isinstance(frontier, RedisFrontier)
    from newscrawl.metrics import serve

    serve(settings.metrics.scheduler_port)
    scheduler = Scheduler(settings, outlets, frontier, CeleryDispatcher(settings))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: scheduler.stop())
    try:
        summary = scheduler.run(until_idle=args.until_idle)
    finally:
        scheduler.close()
        frontier.close()
    print(json.dumps(summary, indent=2))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from indexer.base import SearchQuery
    from newscrawl.demo import build_demo_web

    web, outlets_toml = build_demo_web()
    data_dir = Path(args.data) if args.data else Path("newscrawl-data")
    with web, tempfile.TemporaryDirectory() as tmp:
        outlets_file = Path(tmp) / "demo-outlets.toml"
        outlets_file.write_text(outlets_toml, "utf-8")
        print(
            f"Serving a generated news web of {len(web.resources)} URLs through a proxy at {web.proxy_url}",
            file=sys.stderr,
        )
        settings = load_settings(
            args.config, data_dir=data_dir, fetch={"proxy": web.proxy_url}, politeness={"min_delay_ms": 100}
        )
        summary = _run_crawl(settings, str(outlets_file), until_idle=True, max_pages=None)
        store = build_dedup_store(settings)
        dedup = store.stats()
        store.close()
    print("\nSummary")
    print(f"  pages fetched      {summary['pages_fetched']}")
    print(f"  articles indexed   {summary['articles_indexed']}")
    print(f"  stories            {dedup['stories']}")
    print(f"  duplicates collapsed {dedup['duplicates']} (+ {dedup['url_aliases']} URL aliases)")
    print(f"  boilerplate blocks stripped {dedup['boilerplate_blocks']}")
    print(f"  not modified (304) {summary['not_modified']}")
    errors = summary["errors"] or {}
    print(f"  errors             {sum(errors.values())} {json.dumps(errors) if errors else ''}")
    robots = summary["frontier"].get("errors", {}).get("robots", 0)
    print(f"  robots.txt refusals {robots}")
    print(f"  elapsed            {summary['elapsed_s']:.1f} s")
    print("\nTry:")
    print(f"  newscrawl search harbour --data {data_dir}")
    print(f"  newscrawl search 'storm ferries' --data {data_dir} --all")
    print(f"  newscrawl export --data {data_dir} | head -c 600")
    index = build_index(settings)
    hits = index.search(SearchQuery(text="storm harbour", limit=3))
    index.close()
    print("\nnewscrawl search 'storm harbour':")
    for hit in hits:
        print(f"  [{hit.document.outlet}] {hit.document.title}  ({len(hit.appearances)} other appearances)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newscrawl", description=__doc__)
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", help="data directory (default: ./newscrawl-data)")
        p.add_argument("--config", help="TOML settings file (also NEWSCRAWL_CONFIG)")

    p = sub.add_parser("crawl", help="crawl outlets into the index")
    common(p)
    p.add_argument("--outlets", help="outlets TOML file (default: the shipped list of real outlets)")
    p.add_argument("--proxy", help="HTTP proxy URL for every request (else HTTP_PROXY & co. apply)")
    p.add_argument("--until-idle", action="store_true", help="stop when nothing is due or in flight")
    p.add_argument("--max-pages", type=int, help="stop after this many pages")
    p.add_argument(
        "--allow-network",
        action="append",
        metavar="CIDR",
        help="allow fetching from this private network, e.g. 127.0.0.0/8 (repeatable)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("search", help="search the index")
    common(p)
    p.add_argument("query")
    p.add_argument("--outlet")
    p.add_argument("--since", help="ISO date or datetime")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--all", action="store_true", help="include duplicates")
    p.add_argument("--json", action="store_true", help="one JSON object per hit")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("export", help="every indexed article as JSON Lines")
    common(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("extract", help="extract articles from files or URLs, without crawling")
    common(p)
    p.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
    p.add_argument("--url", help="the URL a saved file was fetched from")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    p.add_argument("--proxy")
    p.add_argument("--allow-network", action="append", metavar="CIDR")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("stats", help="frontier, dedup and index counts")
    common(p)
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("scheduler", help="distributed mode: queue due URLs for the Celery workers")
    common(p)
    p.add_argument("--outlets", help="outlets TOML file (default: settings' outlets_file, else shipped)")
    p.add_argument("--until-idle", action="store_true", help="stop after one pass over the frontier")
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser("index", help="Elasticsearch/OpenSearch: create, inspect or rebuild the index")
    common(p)
    p.add_argument("action", choices=["init", "status", "reindex"])
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("indexer", help="load the Redis stream of finished documents into the cluster")
    common(p)
    p.add_argument("--name", help="consumer name (default: host-pid); reuse it to resume after a crash")
    p.add_argument("--until-drained", action="store_true", help="stop once the stream is fully loaded")
    p.set_defaults(func=cmd_indexer)

    p = sub.add_parser("demo", help="crawl a generated local news web, then search it")
    common(p)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        level = args.log_level or load_settings(getattr(args, "config", None)).log_level
        configure_logging(level)
        return int(args.func(args))
    except ConfigError as exc:
        print(f"newscrawl: {exc}", file=sys.stderr)
        return 2
    except NewscrawlError as exc:
        print(f"newscrawl: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (head, less) went away: not an error of ours.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
