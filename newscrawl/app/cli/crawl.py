"""``newscrawl crawl``: crawl outlets into the index."""

from __future__ import annotations

import argparse
import json
from typing import Any

from newscrawl.app.cli.common import add_common, run_crawl, settings_from_args


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    summary = run_crawl(settings, args.outlets, args.until_idle, args.max_pages, progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("crawl", help="crawl outlets into the index")
    add_common(p)
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
    p.add_argument(
        "--warc", metavar="DIR", help="archive every fetch as WARC files in DIR (archive.warc_dir)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run)
