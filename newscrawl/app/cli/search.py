"""``newscrawl search``: full-text search of the index."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from newscrawl.app.cli.common import add_common, settings_from_args
from newscrawl.app.factory import build_index
from newscrawl.core.errors import ConfigError
from newscrawl.core.interfaces import SearchHit, SearchQuery


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    doc = hit.document.to_dict()
    doc.pop("body")
    return {"score": round(hit.score, 4), "snippet": hit.snippet, "appearances": hit.appearances, **doc}


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
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
            text=args.query,
            outlet=args.outlet,
            since=since,
            language=args.language,
            limit=args.limit,
            include_duplicates=args.all,
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


def register(sub: Any) -> None:
    p = sub.add_parser("search", help="search the index")
    add_common(p)
    p.add_argument("query")
    p.add_argument("--outlet")
    p.add_argument("--since", help="ISO date or datetime")
    p.add_argument("--language", help="ISO 639-1 code of the stories' language, e.g. de")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--all", action="store_true", help="include duplicates")
    p.add_argument("--json", action="store_true", help="one JSON object per hit")
    p.set_defaults(func=run)
