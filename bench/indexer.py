"""Indexer benchmark against osmem-server (in-memory OpenSearch); prints JSON.

In one run, on one engine:
- the ceiling: the same documents sent as raw ``_bulk`` requests (pre-serialised NDJSON, the
  indexer's chunk size, one request at a time), no processing at all;
- the product: the documents appended to the Redis stream by ``StreamWriter`` (not timed), then
  ``newscrawl indexer --until-drained`` (a process) loading them: documents/s from its start to its
  exit;
- memory while the engine is down: an indexer process loading a stream that keeps growing while the
  engine is frozen (SIGSTOP) for ``--outage-s``; its RSS is sampled before and during the outage.

Usage: python bench/indexer.py [--docs 20000] [--outage-s 20]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from osmem_server import OsmemServer  # noqa: E402

from indexer.engine import IndexAdmin  # noqa: E402
from newscrawl.app.factory import build_stream_writer  # noqa: E402
from newscrawl.core.document import Document, doc_id  # noqa: E402
from newscrawl.core.redis_keys import IndexKeys  # noqa: E402
from newscrawl.core.settings import Settings, load_settings  # noqa: E402
from tests.cluster import settings_env  # noqa: E402

REDIS_URL = os.environ.get("NEWSCRAWL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
WORDS = ("harbour", "council", "ferry", "strike", "minister", "budget", "election", "storm", "court")


def documents(n: int, seed: str) -> list[Document]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        url = f"https://outlet-{i % 50}.example/{seed}/2026/11/story-{i}"
        body = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(450))  # ~3 KB, a short article
        out.append(
            Document(
                id=doc_id(url),
                url=url,
                canonical_url=url,
                outlet=f"outlet-{i % 50}",
                host=f"outlet-{i % 50}.example",
                title=f"Story {i}: {WORDS[i % len(WORDS)]} news",
                authors=["A. Reporter"],
                body=body,
                published_at=start + timedelta(minutes=i),
                language="en",
                fetched_at=start,
            )
        )
    return out


def settings_for(engine_url: str, prefix: str, **index: Any) -> Settings:
    return load_settings(
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        log_level="WARNING",
        index={
            "backend": "elasticsearch",
            "url": engine_url,
            "flavor": "opensearch",
            "name": prefix,
            **index,
        },
    )


def raw_bulk(engine_url: str, index: str, docs: list[Document], chunk: int) -> float:
    bodies = []
    for lo in range(0, len(docs), chunk):
        lines = []
        for doc in docs[lo : lo + chunk]:
            lines.append(json.dumps({"index": {"_index": index, "_id": doc.id}}))
            lines.append(json.dumps(doc.to_dict(), ensure_ascii=False))
        bodies.append(("\n".join(lines) + "\n").encode())
    t0 = time.monotonic()
    for body in bodies:
        request = urllib.request.Request(
            f"{engine_url}/_bulk", data=body, method="POST", headers={"Content-Type": "application/x-ndjson"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            assert not json.loads(response.read())["errors"]
    return time.monotonic() - t0


def indexer(settings: Settings, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env(settings)}
    cmd = [sys.executable, "-m", "newscrawl", "indexer", "--until-drained", "--name", name]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def drop(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--outage-s", type=float, default=20.0)
    args = parser.parse_args()
    out: dict[str, Any] = {"docs": args.docs}
    with OsmemServer.start(japanese=False) as engine:
        prefix = f"ncbench-{uuid.uuid4().hex[:8]}"
        settings = settings_for(engine.url, prefix)
        chunk = settings.index.bulk_max_docs
        docs = documents(args.docs, prefix)
        try:
            IndexAdmin(settings).init()
            raw_s = raw_bulk(engine.url, f"{prefix}-raw", docs, chunk)
            writer = build_stream_writer(settings)
            for doc in docs:
                writer.index(doc)
            t0 = time.monotonic()
            proc = indexer(settings, "bench")
            assert proc.wait(600) == 0
            product_s = time.monotonic() - t0
            out["ceiling_raw_bulk_docs_per_s"] = round(args.docs / raw_s, 1)
            out["indexer_docs_per_s"] = round(args.docs / product_s, 1)
            out["ratio_to_ceiling"] = round(raw_s / product_s, 3)
            out["indexer_wall_s_includes_startup"] = round(product_s, 2)
        finally:
            drop(prefix)

        prefix = f"ncbench-{uuid.uuid4().hex[:8]}"
        settings = settings_for(engine.url, prefix, request_timeout_s=5.0, retry_max_s=4.0)
        try:
            writer = build_stream_writer(settings)
            more = documents(args.docs, prefix)
            half = len(more) // 4
            for doc in more[:half]:
                writer.index(doc)
            proc = indexer(settings, "outage")
            client = redis.Redis.from_url(REDIS_URL)
            counters = IndexKeys(prefix).counters
            while int(client.hget(counters, "indexed") or 0) < half // 2:
                time.sleep(0.05)
            before = max(rss_mb(proc.pid) for _ in range(5) if time.sleep(0.1) is None)
            os.kill(engine.pid, signal.SIGSTOP)
            samples = []
            t_end = time.monotonic() + args.outage_s
            rest = iter(more[half:])
            try:
                while time.monotonic() < t_end:
                    for doc in [d for _, d in zip(range(200), rest, strict=False)]:
                        writer.index(doc)  # the crawl goes on: the backlog grows in Redis
                    samples.append(rss_mb(proc.pid))
                    time.sleep(0.2)
                backlog = client.xlen(IndexKeys(prefix).stream)
            finally:
                os.kill(engine.pid, signal.SIGCONT)
            for doc in rest:
                writer.index(doc)
            assert proc.wait(600) == 0
            out["outage"] = {
                "seconds": args.outage_s,
                "indexer_rss_mb_before": round(before, 1),
                "indexer_rss_mb_max_during": round(max(samples), 1),
                "stream_backlog_at_end_of_outage": int(backlog),
                "indexed_after_recovery": int(client.hget(counters, "indexed") or 0),
            }
            client.close()
        finally:
            drop(prefix)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
