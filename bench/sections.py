"""Sections found from a home page, on real outlets' saved pages; prints JSON.

The frontpage archive (``../shared/corpora/frontpage-archive``: home and section pages of 15
German outlets, one monthly snapshot) is served on loopback at its recorded URLs (over plain
http), and ``newscrawl crawl --until-idle`` is run with each outlet given by its home page alone,
once with ``frontier.discover_sections`` (the default) and once without. The archive saved no
article pages: each article link the crawl follows is one request answered 404, so the
distinct article URLs requested are the stories the crawl found. Also counted: requests to pages
the archive saved (home and sections) and to other pages (possible sections it has not saved),
and the sources the crawl keeps (``newscrawl stats``: queued URLs after the pass).

Usage: python bench/sections.py [--snapshot 2026-03-01]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newscrawl.app.localweb import LocalWeb, Resource  # noqa: E402
from scheduler.discovery import looks_like_article  # noqa: E402
from tests.conftest import corpora_path  # noqa: E402


def _http(url: str) -> str:
    return "http://" + url.split("://", 1)[1] if "://" in url else url


def load_snapshot(snapshot: str) -> dict[str, dict[str, bytes]]:
    """site -> {http URL: body with its links turned to http}."""
    root = corpora_path() / "frontpage-archive" / snapshot / "docs" / "snapshots"
    sites: dict[str, dict[str, bytes]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        status = json.loads((folder / "status.json").read_text("utf-8"))
        pages = {}
        for key, entry in status.items():
            path = folder / f"{key if key.endswith('.html') else key + '.html'}.gz"
            if entry.get("status") == 200 and path.exists():
                body = gzip.decompress(path.read_bytes()).replace(b"https://", b"http://")
                pages[_http(entry["url"])] = body
        if pages:
            sites[folder.name] = pages
    return sites


def crawl(sites: dict[str, dict[str, bytes]], sections: bool, tmp: Path) -> dict[str, Any]:
    web = LocalWeb({url: Resource(body) for pages in sites.values() for url, body in pages.items()})
    homes = {site: min(pages, key=len) for site, pages in sites.items()}
    outlets = tmp / "outlets.toml"
    outlets.write_text(
        "".join(f'[[outlet]]\nname = "{site}"\nurls = ["{home}"]\n' for site, home in homes.items()), "utf-8"
    )
    data = tmp / f"data-{sections}"
    env = {
        **os.environ,
        "NEWSCRAWL_POLITENESS__MIN_DELAY_MS": "0",
        "NEWSCRAWL_FRONTIER__DISCOVER_SECTIONS": str(sections).lower(),
    }
    cli = [sys.executable, "-m", "newscrawl", "--log-level", "ERROR"]
    args = ["crawl", "--outlets", str(outlets), "--data", str(data), "--until-idle", "--quiet"]
    with web:
        result = subprocess.run(
            [*cli, *args, "--proxy", web.proxy_url],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        log = list(web.log)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    stats = json.loads(
        subprocess.run([*cli, "stats", "--data", str(data)], capture_output=True, text=True, env=env).stdout
    )
    saved = {url for pages in sites.values() for url in pages}
    requested = Counter(e.url for e in log if not e.url.endswith("/robots.txt"))
    articles = {u for u in requested if u not in saved and looks_like_article(u)}
    per_site: dict[str, int] = Counter()
    for url in articles:
        per_site[next((s for s in sites if urlsplit(url).hostname and s in urlsplit(url).hostname), "?")] += 1
    return {
        "article_urls_found": len(articles),
        "article_urls_found_per_site": dict(sorted(per_site.items())),
        "saved_pages_requested": sum(1 for u in requested if u in saved),
        "other_pages_requested": sum(1 for u in requested if u not in saved and u not in articles),
        "requests": sum(requested.values()),
        "sources_kept": stats["frontier"]["urls"].get("queued", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", default="2026-03-01")
    args = parser.parse_args()
    sites = load_snapshot(args.snapshot)
    with tempfile.TemporaryDirectory() as tmp:
        report = {
            "snapshot": args.snapshot,
            "outlets": len(sites),
            "home_only": crawl(sites, False, Path(tmp)),
            "with_sections": crawl(sites, True, Path(tmp)),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
