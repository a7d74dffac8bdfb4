"""``newscrawl index init|status|reindex``: the search engine's index and aliases."""

from __future__ import annotations

import argparse
import json
from typing import Any

from newscrawl.app.cli.common import add_common, settings_from_args
from newscrawl.core.errors import ConfigError


def run(args: argparse.Namespace) -> int:
    from indexer.engine import IndexAdmin
    from indexer.stream import indexing_paused

    settings = settings_from_args(args)
    if settings.index.backend != "elasticsearch":
        raise ConfigError("index init/status/reindex manage a cluster: set index.backend = 'elasticsearch'")
    admin = IndexAdmin(settings)
    try:
        if args.action == "reindex":
            # Running indexers wait: a write to the old index during the copy would be lost.
            with indexing_paused(settings):
                result = admin.reindex()
        else:
            result = {"init": admin.init, "status": admin.status}[args.action]()
    finally:
        admin.client.close()
    print(json.dumps(result, indent=2))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("index", help="Elasticsearch/OpenSearch: create, inspect or rebuild the index")
    add_common(p)
    p.add_argument("action", choices=["init", "status", "reindex"])
    p.set_defaults(func=run)
