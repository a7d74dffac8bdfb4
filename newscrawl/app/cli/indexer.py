"""``newscrawl indexer``: load the Redis stream of documents into the cluster."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
from typing import Any

from newscrawl.app.cli.common import add_common, settings_from_args
from newscrawl.app.factory import build_stream_indexer


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    consumer = args.name or f"{socket.gethostname()}-{os.getpid()}"
    indexer = build_stream_indexer(settings, consumer)
    from newscrawl.core.metrics import serve

    serve(settings.metrics.indexer_port)

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, indexer.stop)
        stats = await indexer.run(until_drained=args.until_drained)
        return {k: v for k, v in vars(stats).items() if k != "started_at"}

    print(json.dumps(asyncio.run(main()), indent=2))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("indexer", help="load the Redis stream of finished documents into the cluster")
    add_common(p)
    p.add_argument("--name", help="consumer name (default: host-pid); reuse it to resume after a crash")
    p.add_argument("--until-drained", action="store_true", help="stop once the stream is fully loaded")
    p.set_defaults(func=run)
