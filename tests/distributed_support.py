"""What the distributed-mode tests share: settings, results, comparisons, timed crawls."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newscrawl.app.factory import build_components, build_index
from newscrawl.core.document import Document
from newscrawl.core.settings import Settings
from tests.cluster import Cluster
from tests.conftest import REDIS_URL, make_settings
from tests.dedup_web import DedupWeb

DELAY_MS = 150


@dataclass
class Crawl:
    docs: dict[str, Document]
    errors: set[tuple[str, str]]
    log_start: int
    log_end: int


def _settings(web: DedupWeb, data: Path, outlets: Path, **overrides: Any) -> Settings:
    return make_settings(
        data,
        outlets_file=outlets,
        fetch={"proxy": web.web.proxy_url},
        politeness={"min_delay_ms": DELAY_MS},
        **overrides,
    )


def _distributed(
    web: DedupWeb,
    data: Path,
    outlets: Path,
    prefix: str,
    redis_url: str = REDIS_URL,
    broker_url: str | None = None,
    task_time_limit_s: float = 20.0,
    **overrides: Any,
) -> Settings:
    return _settings(
        web,
        data,
        outlets,
        frontier={"backend": "redis", "lease_timeout_s": 25.0, "lease_heartbeat_s": 5.0},
        dedup={"backend": "redis"},
        redis_url=redis_url,
        redis_prefix=prefix,
        workers={
            "queue": f"{prefix}-tasks",
            "batch_size": 4,
            "task_time_limit_s": task_time_limit_s,
            "visibility_timeout_s": task_time_limit_s + 10.0,
            "broker_url": broker_url,
        },
        **overrides,
    )


def _result(settings: Settings, log_start: int, log_end: int) -> Crawl:
    components = build_components(settings, [])
    docs = {d.id: d for d in build_index(settings).export()}
    errors = {(e["url"], e["kind"]) for e in components.frontier.errors()}  # type: ignore[attr-defined]
    components.close()
    return Crawl(docs, errors, log_start, log_end)


def _clusters(docs: dict[str, Document]) -> set[frozenset[str]]:
    """Each story as the set of its URLs (canonical document, its duplicates, their aliases)."""
    groups: dict[str, set[str]] = {}
    for doc in docs.values():
        root = doc.duplicate_of or doc.id
        groups.setdefault(root, set()).update([doc.url, *doc.also_seen_at])
    return {frozenset(g) for g in groups.values()}


def _appearances(docs: dict[str, Document]) -> dict[str, int]:
    seen: dict[str, int] = {}
    for doc in docs.values():
        for url in [doc.url, *doc.also_seen_at]:
            seen[url] = seen.get(url, 0) + 1
    return seen


def _assert_same_index(got: Crawl, want: Crawl) -> None:
    assert sorted(got.docs) == sorted(want.docs)
    for doc_id, doc in want.docs.items():
        other = got.docs[doc_id]
        assert (other.url, other.duplicate_of, other.content_hash) == (
            doc.url,
            doc.duplicate_of,
            doc.content_hash,
        ), doc.url
    assert _clusters(got.docs) == _clusters(want.docs)
    assert got.errors == want.errors


def _assert_polite(web: DedupWeb, crawl: Crawl) -> int:
    by_host: dict[str, list[float]] = {}
    for entry in web.web.log[crawl.log_start : crawl.log_end]:
        by_host.setdefault(entry.host, []).append(entry.at)
    checked = 0
    for host, times in by_host.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        if gaps:
            assert min(gaps) >= DELAY_MS / 1000 - 0.005, f"{host}: gap {min(gaps):.3f}s"
            checked += 1
    return checked


def _assert_fetched_once(web: DedupWeb, crawl: Crawl, logs: Path) -> None:
    """No URL was requested again but after a failed fetch of it (a worker's ``fetch_failed``):
    no task ran twice, no live lease was handed out again."""
    failed = Counter(
        json.loads(line)["url"]
        for log in logs.glob("w*.log")
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"event": "fetch_failed"' in line
    )
    requests = Counter(e.url for e in web.web.log[crawl.log_start : crawl.log_end])
    again = {url: n for url, n in requests.items() if n > 1 + failed[url]}
    if again:  # what the next reader needs to tell a task run twice from a lease handed out twice
        times = {
            u: [round(e.at, 3) for e in web.web.log[crawl.log_start : crawl.log_end] if e.url == u]
            for u in again
        }
        lines = [
            line[:300]
            for log in sorted(logs.glob("*.log"))
            for line in log.read_text().splitlines()
            if any(u in line for u in again) or "ack" in line.lower() or "outage" in line
        ]
        raise AssertionError(f"fetched again: {times}\n" + "\n".join(lines[-60:]))


def _indexed(settings: Settings) -> int:
    index = build_index(settings)
    try:
        return index.count()
    finally:
        index.close()


def _default_leases(web: DedupWeb, data: Path, outlets: Path, prefix: str) -> Settings:
    """Distributed settings with the default lease timeout, heartbeat and task limits."""
    return _settings(
        web,
        data,
        outlets,
        frontier={"backend": "redis"},
        dedup={"backend": "redis"},
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        workers={"queue": f"{prefix}-tasks", "batch_size": 4},
    )


def _timed_crawl(settings: Settings, logs: Path, kill_at_fraction: float | None, want: int) -> float:
    cluster = Cluster(settings, logs)
    started = time.monotonic()
    try:
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.start_scheduler("scheduler")
        if kill_at_fraction is not None:
            deadline = time.monotonic() + 120
            while _indexed(settings) < want * kill_at_fraction:
                assert time.monotonic() < deadline, cluster.tail("w1")
                time.sleep(0.1)
            cluster.kill9("w1")  # mid-task, leases out: nobody renews them any more
        assert cluster.wait("scheduler", 300) == 0, cluster.tail("scheduler")
        return time.monotonic() - started
    finally:
        cluster.close()
