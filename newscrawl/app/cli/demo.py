"""``newscrawl demo``: serve a generated local news web, crawl it, search it."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from newscrawl.app.cli.common import add_common, run_crawl
from newscrawl.app.factory import build_dedup_store, build_index
from newscrawl.core.settings import load_settings


def run(args: argparse.Namespace) -> int:
    from newscrawl.app.demo import build_demo_web
    from newscrawl.core.interfaces import SearchQuery

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
        summary = run_crawl(settings, str(outlets_file), until_idle=True, max_pages=None)
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


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="crawl a generated local news web, then search it")
    add_common(p)
    p.set_defaults(func=run)
