"""The dedup store over weeks of stories, on a virtual clock; prints JSON.

A crawl never ends, so the dedup store must not grow with every story it has ever seen: stories
unseen for ``dedup.window_days`` leave it with their clusters (README "Deduplication"). This feeds
the dedup stage ``--per-day`` stories a day for ``--days`` days on a virtual clock, built from the
corpora's real paragraphs (each story a fresh mix, a line per outlet repeated on every page of it,
a fifth of the stories syndicated to a second outlet), and records the store's size at the end
of every ``--sample-days``: SQLite rows and file bytes; Redis keys and the memory they use
(``MEMORY USAGE`` summed over the store's keys). Expected: growth until the window is full, flat
after it. Also: whether every syndicated copy within the window was found.

Usage: python bench/dedup_window.py [--days 40] [--per-day 300] [--window-days 7]
       [--backends sqlite,redis]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import redis  # noqa: E402

from bench.dedup import document  # noqa: E402
from newscrawl.app.factory import build_dedup_stage, build_dedup_store  # noqa: E402
from newscrawl.core.settings import Settings, load_settings  # noqa: E402
from tests.conftest import corpora_path  # noqa: E402
from tests.live_web import corpus_texts  # noqa: E402

REDIS_URL = os.environ.get("NEWSCRAWL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
DAY_S = 86_400.0
T0 = 1_800_000_000.0
OUTLETS = 40


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _footprint(settings: Settings) -> dict[str, int]:
    if settings.dedup.backend == "redis":
        client = redis.Redis.from_url(settings.redis_url)
        keys = list(client.scan_iter(match=f"{settings.redis_prefix}:dedup:*", count=5000))
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.memory_usage(key, samples=0)
        return {"keys": len(keys), "bytes": sum(int(b or 0) for b in pipe.execute())}
    path = settings.data_dir / "dedup.sqlite"
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    rows = sum(int(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in tables)
    pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    free = int(db.execute("PRAGMA freelist_count").fetchone()[0])
    size = int(db.execute("PRAGMA page_size").fetchone()[0])
    db.close()
    # Pages in use: SQLite reuses freed pages before it grows the file.
    return {"rows": rows, "bytes": (pages - free) * size, "file_bytes": pages * size}


def run(backend: str, days: int, per_day: int, window_days: float, sample_days: int) -> dict[str, Any]:
    texts = corpus_texts(corpora_path())
    pool = [p for _, paragraphs in texts for p in paragraphs]
    titles = [t for t, _ in texts]
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"nc-bench-window-{uuid.uuid4().hex[:8]}"
        settings = load_settings(
            data_dir=Path(tmp),
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            dedup={"backend": backend, "window_days": window_days},
        )
        clock = Clock()
        stage = build_dedup_stage(settings, build_dedup_store(settings), clock=clock)
        samples, copies, found = [], 0, 0
        cpu0 = time.process_time()
        n = 0
        for day in range(1, days + 1):
            for _ in range(per_day):
                n += 1
                outlet = n % OUTLETS
                paragraphs = [*rng.sample(pool, 6), f"Story {n}: {rng.choice(titles)}"]
                paragraphs.append(f"Follow outlet {outlet} for more news every morning.")
                title = f"{rng.choice(titles)} ({n})"
                stage.process(
                    document(
                        f"http://outlet{outlet}.example/a/{n}", title, "\n".join(paragraphs), _at(clock.now)
                    )
                )
                if rng.random() < 0.2:  # syndicated within the hour: must be found
                    copies += 1
                    other = (outlet + 1 + rng.randrange(OUTLETS - 1)) % OUTLETS
                    later = clock.now + 600  # published after the original: the original stays canonical
                    copy = document(
                        f"http://outlet{other}.example/w/{n}", title, "\n".join(paragraphs[:-1]), _at(later)
                    )
                    found += stage.process(copy).action == "index" and copy.duplicate_of is not None
                clock.now += DAY_S / per_day
            if day % sample_days == 0:
                samples.append({"day": day, **_footprint(settings)})
        cpu_s = time.process_time() - cpu0
        if backend == "redis":
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=f"{prefix}:*", count=5000):
                client.delete(key)
    full = [s for s in samples if s["day"] > window_days + 1]
    return {
        "stories": n,
        "syndicated_copies": copies,
        "copies_found": found,
        "cpu_us_per_decision": round(1e6 * cpu_s / (n + copies)),
        "samples": samples,
        # Once the window is full: the last sample against the first, as a ratio (1.0: flat).
        "growth_after_window_full": round(full[-1]["bytes"] / full[0]["bytes"], 3) if len(full) > 1 else None,
        "bytes_per_story_in_window": round(samples[-1]["bytes"] / (per_day * 1.2 * window_days)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--per-day", type=int, default=300)
    parser.add_argument("--window-days", type=float, default=7.0)
    parser.add_argument("--sample-days", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,redis")
    args = parser.parse_args()
    report = {
        "days": args.days,
        "stories_per_day": args.per_day,
        "window_days": args.window_days,
        "backends": {
            b: run(b, args.days, args.per_day, args.window_days, args.sample_days)
            for b in args.backends.split(",")
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
