"""Soak benchmark: a day of crawling on the virtual clock; prints JSON.

The live web's schedule (tests/live_web.py) stretched to ``--hours`` of publishing (bursts every
20 minutes, steady outlets all day) is crawled through the frontier on a virtual clock
(tests/virtual_crawl.py): every lease, report, revisit and new link the real crawl would make,
without the HTTP. Every simulated hour: this process's RSS, the frontier's size (SQLite: the file
and its WAL, rows by table; Redis: the memory its keys use, how many there are), and how many
articles were fetched. Slopes are fitted over the second half, per hour and per article: the
frontier may grow with the articles it has seen (its seen filter, a few bytes each), never with
revisits.

Usage: python bench/soak.py [--hours 24] [--backends sqlite,redis]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import redis  # noqa: E402

from newscrawl.app.factory import build_frontier  # noqa: E402
from newscrawl.core.settings import load_settings  # noqa: E402
from tests.live_web import LiveSchedule, corpus_texts  # noqa: E402
from tests.virtual_crawl import VirtualCrawl, outlets_of, run  # noqa: E402

REDIS_URL = os.environ.get("NEWSCRAWL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
T0 = 1_800_000_000.0


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def fit(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


def soak(backend: str, schedule: LiveSchedule, hours: float, tmp: Path) -> dict[str, Any]:
    prefix = f"ncsoak-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        data_dir=tmp / backend,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        politeness={"respect_robots": False},
        frontier={"backend": backend},
    )
    frontier = build_frontier(settings, outlets_of(schedule))
    client = redis.Redis.from_url(REDIS_URL)
    samples: list[dict[str, Any]] = []

    def sample(rel: float, crawl: VirtualCrawl) -> None:
        row: dict[str, Any] = {"hour": round(rel / 3600, 2), "rss_bytes": rss_bytes()}
        row["articles"] = crawl.articles_fetched
        if backend == "sqlite":
            files = list((tmp / backend).glob("frontier.sqlite*"))
            row["frontier_bytes"] = sum(p.stat().st_size for p in files)
            row["wal_bytes"] = sum(p.stat().st_size for p in files if p.name.endswith("-wal"))
            import sqlite3

            db = sqlite3.connect(tmp / backend / "frontier.sqlite")
            for table in ("urls", "seen", "errors", "hosts", "counters"):
                row[f"rows_{table}"] = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            db.close()
        else:
            keys = list(client.scan_iter(f"{prefix}:*", count=1000))
            row["keys"] = len(keys)
            row["frontier_bytes"] = sum(int(client.memory_usage(k) or 0) for k in keys)
        samples.append(row)

    started = time.monotonic()
    try:
        crawl = run(
            frontier, schedule, t0=T0, until_s=hours * 3600, on_sample=sample, every_s=3600, keep_log=False
        )
        sample(hours * 3600, crawl)
    finally:
        if backend == "redis":
            keys = list(client.scan_iter(f"{prefix}:*", count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i : i + 500])
        frontier.close()
    half = samples[len(samples) // 2 :]
    hours_x = [r["hour"] for r in half]
    articles_x = [r["articles"] for r in half]
    slopes: dict[str, Any] = {}
    for key in ("rss_bytes", "frontier_bytes", "rows_urls", "rows_errors", "keys"):
        if key in half[0]:
            ys = [r[key] for r in half]
            per_h, per_article = fit(hours_x, ys), fit(articles_x, ys)
            slopes[key] = {
                "per_hour": round(per_h, 1) if per_h is not None else None,
                "per_article": round(per_article, 2) if per_article is not None else None,
            }
    return {
        "wall_s": round(time.monotonic() - started, 1),
        "virtual_hours": hours,
        "articles_fetched": crawl.articles_fetched,
        "source_requests": sum(crawl.source_requests.values()),
        "not_modified": crawl.not_modified,
        "samples": samples,
        "slopes_second_half": slopes,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--backends", default="sqlite,redis")
    args = parser.parse_args()
    corpora = Path(os.environ.get("NEWSCRAWL_CORPORA", REPO.parent / "shared" / "corpora"))
    runs_20_min = args.hours * 3
    schedule = LiveSchedule.build(
        corpus_texts(corpora),
        duration_s=args.hours * 3600,
        steady_per_run=round(11 * runs_20_min),
        bursts=round(runs_20_min),
    )
    out: dict[str, Any] = {"articles_published": len(schedule.released_during()), "backends": {}}
    with tempfile.TemporaryDirectory(prefix="ncsoak-") as tmp:
        for backend in args.backends.split(","):
            out["backends"][backend] = soak(backend, schedule, args.hours, Path(tmp))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
