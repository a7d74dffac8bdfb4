"""What the commands share: settings from flags, the progress line, the embedded crawl run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newscrawl.app.factory import build_components
from newscrawl.core.errors import ConfigError
from newscrawl.core.heap import startup_objects_frozen
from newscrawl.core.settings import Settings, load_settings
from scheduler.outlets import load_outlets

if TYPE_CHECKING:
    from newscrawl.app.engine import CrawlStats
    from scheduler.outlets import Outlet


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="data directory (default: ./newscrawl-data)")
    p.add_argument("--config", help="TOML settings file (also NEWSCRAWL_CONFIG)")


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
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
    if getattr(args, "warc", None):
        overrides["archive"] = {"warc_dir": args.warc}
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


@contextlib.contextmanager
def one_crawl_per_data_dir(data_dir: Path) -> Iterator[None]:
    """The SQLite frontier is one crawl's: a second crawl on the same files would hand the
    first one's leases out again (it takes what it finds leased for a dead run's). Refused,
    with the running crawl's pid; the lock goes with the process, however it ends."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "crawl.lock", "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            raise ConfigError(
                f"another crawl (pid {holder}) is running on {data_dir}: stop it first, or give"
                " this one its own --data"
            ) from None
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield


def run_crawl(
    settings: Settings,
    outlets_path: str | None,
    until_idle: bool,
    max_pages: int | None,
    progress: bool = True,
) -> dict[str, Any]:
    outlets = load_outlets(outlets_path or settings.outlets_file)
    if until_idle:  # one pass: what fails in it fails, no later round is waited for
        settings = settings.model_copy(
            update={"frontier": settings.frontier.model_copy(update={"retry_rounds": 1})}
        )
    with contextlib.ExitStack() as stack:
        if settings.frontier.backend == "sqlite":
            stack.enter_context(one_crawl_per_data_dir(settings.data_dir))
        return _crawl(settings, outlets, until_idle, max_pages, progress)


def _crawl(
    settings: Settings, outlets: list[Outlet], until_idle: bool, max_pages: int | None, progress: bool
) -> dict[str, Any]:
    from newscrawl.app.engine import CrawlEngine

    components = build_components(settings, outlets)
    show = Progress() if progress else None
    engine = CrawlEngine(components, on_progress=show)

    async def main() -> CrawlStats:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, engine.stop)
        return await engine.run(until_idle=until_idle, max_pages=max_pages)

    try:
        with startup_objects_frozen():
            stats = asyncio.run(main())
    finally:
        if show:
            show.done()
    summary = stats.as_dict()
    summary["index_documents"] = components.index.count()
    summary["frontier"] = components.frontier.stats()
    components.close()
    return summary
