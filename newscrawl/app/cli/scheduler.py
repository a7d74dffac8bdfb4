"""``newscrawl scheduler``: lease due URLs and queue them for the Celery workers."""

from __future__ import annotations

import argparse
import json
import signal
from typing import Any

from newscrawl.app.cli.common import add_common, settings_from_args
from newscrawl.app.factory import build_scheduler
from newscrawl.core.outage import Outage
from scheduler.outlets import load_outlets


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    outlets = load_outlets(settings.outlets_file)
    # Redis down at start is an outage like any other: waited out (up to store_outage_limit_s).
    scheduler = Outage("redis", limit_s=settings.store_outage_limit_s).call(
        lambda: build_scheduler(settings, outlets)
    )
    from newscrawl.core.metrics import serve

    serve(settings.metrics.scheduler_port)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: scheduler.stop())
    try:
        summary = scheduler.run(until_idle=args.until_idle)
    finally:
        scheduler.close()
        scheduler.frontier.close()
    print(json.dumps(summary, indent=2))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("scheduler", help="distributed mode: queue due URLs for the Celery workers")
    add_common(p)
    p.add_argument("--outlets", help="outlets TOML file (default: settings' outlets_file, else shipped)")
    p.add_argument("--until-idle", action="store_true", help="stop after one pass over the frontier")
    p.set_defaults(func=run)
