"""The ``newscrawl`` command: one module per subcommand, each with ``register`` and ``run``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from newscrawl.app.cli import (
    crawl,
    demo,
    export,
    extract,
    index,
    indexer,
    reprocess,
    scheduler,
    search,
    stats,
)
from newscrawl.core.errors import ConfigError, NewscrawlError
from newscrawl.core.log import configure_logging
from newscrawl.core.settings import load_settings

COMMANDS = (crawl, search, export, extract, reprocess, stats, scheduler, index, indexer, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newscrawl", description="Crawl, extract, deduplicate and index news."
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
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
