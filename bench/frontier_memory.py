"""Memory of the Redis frontier per URL; prints JSON.

Runs its own redis-server (no persistence) on a free port, so the figures are that instance's
``used_memory`` and nothing else shares it:
- the seen filter (what a URL costs for good once it is fetched: its per-URL hash is deleted) at
  1 and 10 million URLs, written with the frontier's own bucket and field for each URL and, as
  complete.lua writes it since session 31, the second it was fetched (an updated story is
  fetched again);
- for comparison, a plain Redis SET of the URL strings (what a naive seen set would cost) at 1M;
- a queued, never-fetched URL (its hash, its place in the host queue and in the unfetched set) at
  100k URLs, added through ``RedisFrontier.add``.

Usage: python bench/frontier_memory.py [--max-urls 10000000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import redis  # noqa: E402

from newscrawl.app.factory import build_frontier  # noqa: E402
from newscrawl.core.records import FrontierEntry  # noqa: E402
from newscrawl.core.settings import load_settings  # noqa: E402
from scheduler.redis_frontier import _fingerprint  # noqa: E402


def url(i: int) -> str:
    host = f"www.outlet-{i % 5000}.example.com"
    return f"https://{host}/2026/11/{i % 28 + 1:02d}/section-{i % 20}/story-{i}-a-headline-slug.html"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def used(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


FETCHED_AT = 1_800_000_000  # a fetch time as complete.lua stores it (whole seconds)


def fill_seen(frontier: Any, client: Any, start: int, stop: int) -> None:
    chunk = 200_000
    for lo in range(start, stop, chunk):
        buckets: dict[str, dict[bytes, int]] = defaultdict(dict)
        for i in range(lo, min(lo + chunk, stop)):
            key, field = frontier._seen_slot(_fingerprint(url(i)))
            buckets[key][field] = FETCHED_AT + i % 86_400
        pipe = client.pipeline(transaction=False)
        for key, fields in buckets.items():
            pipe.hset(key, mapping=fields)
        pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-urls", type=int, default=10_000_000)
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server not found")
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    redis_url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(redis_url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        settings = load_settings(redis_url=redis_url, frontier={"backend": "redis"})
        frontier = build_frontier(settings, [])
        out: dict[str, Any] = {"redis": client.info("server")["redis_version"]}
        out["seen_bucket_bits"] = settings.frontier.seen_bucket_bits
        out["mean_url_bytes"] = round(sum(len(url(i)) for i in range(10_000)) / 10_000, 1)

        base = used(client)
        seen: dict[str, float] = {}
        done = 0
        for n in (1_000_000, args.max_urls):
            if n <= done:
                continue
            fill_seen(frontier, client, done, n)
            done = n
            seen[f"{n}"] = round((used(client) - base) / n, 2)
        out["seen_filter_bytes_per_url"] = seen
        first_bucket = frontier._seen_slot(_fingerprint(url(0)))[0]
        out["seen_filter_encoding"] = client.object("encoding", first_bucket).decode()
        client.flushdb()

        base = used(client)
        pipe = client.pipeline(transaction=False)
        for i in range(1_000_000):
            pipe.sadd("naive-seen", url(i))
            if i % 10_000 == 9_999:
                pipe.execute()
        pipe.execute()
        out["naive_url_set_bytes_per_url_1M"] = round((used(client) - base) / 1_000_000, 2)
        client.flushdb()

        base = used(client)
        n = 100_000
        batch = 1000
        for lo in range(0, n, batch):
            frontier.add([FrontierEntry(url(i), "article") for i in range(lo, lo + batch)], time.time())
        out["queued_url_bytes_per_url_100k"] = round((used(client) - base) / n, 2)
        frontier.close()
        client.close()
    finally:
        server.terminate()
        server.wait(10)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
