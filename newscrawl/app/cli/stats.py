"""``newscrawl stats``: frontier, dedup and index counts, source health per outlet (and the cluster's
figures in distributed mode)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from newscrawl.app.cli.common import add_common, settings_from_args
from newscrawl.app.factory import build_inspection
from newscrawl.core.outage import Outage
from newscrawl.core.settings import Settings

# How long ``newscrawl stats`` waits for a store that does not answer before it says so.
STATS_WAIT_S = 10.0


def _diagnosis(frontier: dict[str, Any]) -> str | None:
    """Say so plainly when nothing was ever fetched and every failure is a network one."""
    errors: dict[str, int] = frontier.get("errors") or {}
    network = errors.get("dns", 0) + errors.get("connect", 0)
    if frontier.get("fetched", 0) or network < 5 or network < sum(errors.values()):
        return None
    return (
        f"no host was ever reached: {network} URLs failed to resolve or connect and none was"
        " fetched; check the machine's network, DNS and proxy settings"
    )


def _counts(settings: Settings) -> dict[str, Any]:
    stores = build_inspection(settings)
    try:
        return {
            "frontier": stores.frontier.stats(),
            "dedup": stores.dedup_store.stats(),
            "index_documents": stores.index.count(),
            "canonical_documents": stores.index.count(include_duplicates=False),
            # Per outlet: new articles per hour, time since the last one, extraction failures,
            # median body length (workers/health.py).
            "outlets": stores.health.report(),
        }
    finally:
        stores.close()


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    # A store that is away briefly (a locked SQLite file, Redis restarting) is waited for; one
    # that stays away is reported: ops ask for stats to find out what is wrong.
    limit_s = min(settings.store_outage_limit_s or STATS_WAIT_S, STATS_WAIT_S)
    out = Outage("stores", limit_s=limit_s).call(lambda: _counts(settings))
    diagnosis = _diagnosis(out["frontier"])
    if diagnosis:
        out["diagnosis"] = diagnosis
    # Only the distributed mode needs redis-py.
    if settings.frontier.backend == "redis":
        from newscrawl.app.cluster_stats import cluster_stats

        out.update(cluster_stats(settings))
    elif settings.index.backend == "elasticsearch":
        from newscrawl.app.cluster_stats import stream_stats

        out["index_stream"] = stream_stats(settings)
    print(json.dumps(out, indent=2))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("stats", help="frontier, dedup and index counts")
    add_common(p)
    p.set_defaults(func=run)
