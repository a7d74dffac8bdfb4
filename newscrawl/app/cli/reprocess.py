"""``newscrawl reprocess WARC_OR_DIR...``: rebuild the index from WARC archives, without crawling."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newscrawl.app.cli.common import add_common, settings_from_args
from newscrawl.app.factory import build_reprocessor
from newscrawl.core.errors import ConfigError
from newscrawl.core.log import configure_logging
from newscrawl.core.settings import Settings

# Imported where they run: `newscrawl scheduler` loads this module, never the extraction stack.
if TYPE_CHECKING:
    from workers.reprocess import ReprocessReport


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"--since: not an ISO date: {value}") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _reprocess(
    settings: Settings,
    files: list[Path],
    hosts: set[str] | None,
    since: datetime | None,
    progress: Callable[[ReprocessReport], None] | None,
) -> ReprocessReport:
    reprocessor, close = build_reprocessor(settings, hosts=hosts, since=since, on_progress=progress)
    try:
        return reprocessor.run(files)
    finally:
        close()


def _reprocess_part(
    settings: Settings, files: list[Path], hosts: set[str] | None, since: datetime | None
) -> ReprocessReport:
    configure_logging(settings.log_level)  # a spawned process: its log goes to stderr too
    return _reprocess(settings, files, hosts, since, None)


def _queue(settings: Settings, files: list[Path], hosts: list[str] | None, since: datetime | None) -> int:
    """Distributed mode: one Celery task per file for the workers (the files on storage they read)."""
    from newscrawl.core.taskqueue import REPROCESS_TASK, make_app

    app = make_app(settings)
    for path in files:
        app.send_task(
            REPROCESS_TASK,
            args=[str(path.resolve()), hosts, since.isoformat() if since else None],
            queue=settings.task_queue,
        )
    print(json.dumps({"queued_files": len(files)}, indent=2))
    return 0


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    for source in args.sources:
        if not Path(source).exists():
            raise ConfigError(f"no such WARC file or directory: {source}")

    def progress(report: Any) -> None:
        if not args.quiet:
            d = report.as_dict()
            skipped = sum(d["skipped"].values())
            sys.stderr.write(f"\r{d['records']:7d} records  {d['indexed']:6d} indexed  {skipped:6d} skipped")
            sys.stderr.flush()

    from workers.reprocess import ReprocessReport, warc_files

    files = warc_files([Path(s) for s in args.sources])
    hosts = set(args.host) if args.host else None
    since = _since(args.since)
    if args.celery:
        return _queue(settings, files, args.host, since)
    if args.jobs <= 1 or len(files) <= 1:
        report = _reprocess(settings, files, hosts, since, progress)
    else:
        # Processes over files: every one opens the same stores (SQLite serialises writers;
        # the dedup decisions come out the same in any order).
        groups = [files[i :: args.jobs] for i in range(args.jobs)]
        context = multiprocessing.get_context("spawn")
        with context.Pool(args.jobs) as pool:
            parts = pool.starmap(_reprocess_part, [(settings, g, hosts, since) for g in groups if g])
        report = ReprocessReport()
        for part in parts:
            report.add(part)
    if not args.quiet:
        sys.stderr.write("\n")
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("reprocess", help="index the response records of WARC files (ours or any tool's)")
    add_common(p)
    p.add_argument("sources", nargs="+", metavar="WARC_OR_DIR")
    p.add_argument("--host", action="append", help="only this host (repeatable)")
    p.add_argument("--since", help="only records captured at or after this ISO date")
    p.add_argument("--jobs", type=int, default=1, help="processes, each taking whole files (default 1)")
    p.add_argument(
        "--celery", action="store_true", help="distributed mode: queue one task per file for the workers"
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)
