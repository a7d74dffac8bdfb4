"""Distributed mode with real processes: Redis, a scheduler, Celery workers, Flower.

The dedup web (duplicate groups known by construction among real articles) is crawled once by the
embedded mode and then by a scheduler and two Celery worker processes; the index, the duplicate
clusters and the errors must be the same, and the server must never see a host fetched faster than
the delay, across both workers. A second crawl kills a worker with SIGKILL and restarts the scheduler.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from newscrawl.app.engine import CrawlEngine
from newscrawl.app.factory import build_components, build_frontier, build_index
from newscrawl.core.document import Document
from newscrawl.core.settings import Settings
from scheduler.outlets import parse_outlets
from tests.cluster import Cluster, PrivateRedis, free_port, get_json, settings_env
from tests.conftest import REDIS_URL, drop_redis_prefix, make_settings, redis_available
from tests.dedup_web import DedupWeb

DELAY_MS = 150


@pytest.fixture(scope="module", autouse=True)
def _needs_redis() -> None:
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}: .ci/run must start it")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")


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
    web: DedupWeb, data: Path, outlets: Path, prefix: str, redis_url: str = REDIS_URL, **overrides: Any
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
            "task_time_limit_s": 20.0,
            "visibility_timeout_s": 30.0,
        },
        **overrides,
    )


def _result(settings: Settings, log_start: int, log_end: int) -> Crawl:
    components = build_components(settings, [])
    docs = {d.id: d for d in build_index(settings).export()}
    errors = {(e["url"], e["kind"]) for e in components.frontier.errors()}  # type: ignore[attr-defined]
    components.close()
    return Crawl(docs, errors, log_start, log_end)


@pytest.fixture(scope="module")
def outlets_file(dedup_web: DedupWeb, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outlets") / "outlets.toml"
    path.write_text(dedup_web.outlets_first + "\n\n" + dedup_web.outlets_second, "utf-8")
    return path


@pytest.fixture(scope="module")
def embedded(dedup_web: DedupWeb, outlets_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    settings = _settings(dedup_web, tmp_path_factory.mktemp("embedded"), outlets_file)
    components = build_components(settings, parse_outlets(outlets_file.read_text("utf-8")))
    start = len(dedup_web.web.log)
    asyncio.run(CrawlEngine(components).run(until_idle=True))
    components.close()
    return _result(settings, start, len(dedup_web.web.log))


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"nctest-{uuid.uuid4().hex[:12]}"
    yield name
    drop_redis_prefix(f"{name}")


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


def _cli_stats(settings: Settings) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "newscrawl", "stats"],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _flower_workers(port: int, want: int, deadline_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_s
    workers: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            workers = get_json(f"http://127.0.0.1:{port}/api/workers?refresh=1", timeout_s=10)
        except OSError:
            workers = {}
        if len(workers) >= want and all("stats" in w for w in workers.values()):
            return workers
        time.sleep(0.5)
    raise AssertionError(f"Flower reported {sorted(workers)}")


def test_two_workers_crawl_what_the_embedded_mode_crawls(
    dedup_web: DedupWeb, outlets_file: Path, embedded: Crawl, prefix: str, tmp_path: Path
) -> None:
    settings = _distributed(dedup_web, tmp_path / "data", outlets_file, prefix)
    cluster = Cluster(settings, tmp_path / "logs")
    port = free_port()
    start = len(dedup_web.web.log)
    try:
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.start_flower(port)
        cluster.start_scheduler()
        assert cluster.wait("scheduler", 240) == 0, cluster.tail("scheduler")
        end = len(dedup_web.web.log)
        workers = _flower_workers(port, 2)
        stats = _cli_stats(settings)
    finally:
        cluster.close()
    crawl = _result(settings, start, end)
    _assert_same_index(crawl, embedded)
    assert len(crawl.docs) > 250
    assert _assert_polite(dedup_web, crawl) > 100
    # `newscrawl stats` reads the cluster's state from Redis and the broker.
    requests = sum(1 for e in dedup_web.web.log[start:end] if not e.url.endswith("/robots.txt"))
    assert len(crawl.docs) < stats["workers"]["pages_fetched"] <= requests  # redirect hops are requests
    assert stats["workers"]["articles_indexed"] >= len(
        crawl.docs
    )  # index writes: a retried page counts again
    assert stats["frontier"]["urls"]["done"] >= len(crawl.docs)
    assert stats["frontier"]["leased"] == 0 and stats["frontier"]["hosts_due"] == 0
    assert stats["queues"][f"{prefix}-tasks.waiting"] == 0
    assert stats["scheduler"]["tasks_dispatched"] > 0 and stats["scheduler"]["heartbeat_age_s"] < 60
    assert stats["pages_per_s"] > 0
    assert stats["errors_by_kind"] == {k: v for k, v in stats["errors_by_kind"].items() if v > 0}
    # Flower, a real process, sees both workers and what each has run.
    names = sorted(n.split("@")[0] for n in workers)
    assert names == ["w1", "w2"], names
    for name, info in workers.items():
        done = info["stats"]["total"].get("newscrawl.crawl", 0)
        assert done > 0, (name, info["stats"]["total"])


def _indexed(settings: Settings) -> int:
    index = build_index(settings)
    try:
        return index.count()
    finally:
        index.close()


def test_kill_9_of_a_worker_and_a_scheduler_restart_lose_and_duplicate_nothing(
    dedup_web: DedupWeb, outlets_file: Path, embedded: Crawl, prefix: str, tmp_path: Path
) -> None:
    settings = _distributed(dedup_web, tmp_path / "data", outlets_file, prefix)
    cluster = Cluster(settings, tmp_path / "logs")
    start = len(dedup_web.web.log)
    try:
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.start_scheduler("scheduler")
        deadline = time.monotonic() + 120
        while _indexed(settings) < len(embedded.docs) // 3:
            assert time.monotonic() < deadline, cluster.tail("w1")
            assert cluster.alive("scheduler"), cluster.tail("scheduler")
            time.sleep(0.1)
        cluster.kill9("w1")  # mid-task: its leases and its unacknowledged task are left behind
        cluster.kill9("scheduler")
        frontier = build_frontier(settings, [])
        assert frontier.in_flight() > 0, "no lease was out when the worker died"
        frontier.close()
        assert _indexed(settings) < len(embedded.docs), "the crawl ended before the faults"
        cluster.start_scheduler("scheduler-2")
        cluster.start_worker("w3")
        assert cluster.wait("scheduler-2", 240) == 0, cluster.tail("scheduler-2")
        end = len(dedup_web.web.log)
    finally:
        cluster.close()
    crawl = _result(settings, start, end)
    # Every page is one document's URL at most once, and appears as often as in the embedded index.
    urls = [d.url for d in crawl.docs.values()]
    assert len(urls) == len(set(urls))
    assert _appearances(crawl.docs) == _appearances(embedded.docs)
    _assert_same_index(crawl, embedded)
    _assert_polite(dedup_web, crawl)


@pytest.mark.parametrize("down_s", [5, 30], ids=["restart", "unreachable-30s"])
def test_a_redis_restart_mid_crawl_crashes_nothing_and_loses_nothing(
    dedup_web: DedupWeb, outlets_file: Path, embedded: Crawl, prefix: str, tmp_path: Path, down_s: int
) -> None:
    """Redis (AOF on) shut down mid-crawl and started again on the same files ``down_s`` later."""
    redis_server = PrivateRedis(tmp_path / "redis")
    redis_server.start()
    settings = _distributed(dedup_web, tmp_path / "data", outlets_file, prefix, redis_url=redis_server.url)
    cluster = Cluster(settings, tmp_path / "logs")
    start = len(dedup_web.web.log)
    try:
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.start_scheduler("scheduler")
        deadline = time.monotonic() + 120
        while _indexed(settings) < len(embedded.docs) // 4:
            assert time.monotonic() < deadline, cluster.tail("w1")
            time.sleep(0.1)
        redis_server.shutdown()
        time.sleep(down_s)
        assert cluster.alive("scheduler"), cluster.tail("scheduler")
        before = _indexed(settings)
        redis_server.start()
        back = time.monotonic()
        while _indexed(settings) <= before and _indexed(settings) < len(embedded.docs):
            assert time.monotonic() - back < 30, cluster.tail("w1") + cluster.tail("scheduler")
            time.sleep(0.1)
        recovery_s = time.monotonic() - back
        assert cluster.wait("scheduler", 240) == 0, cluster.tail("scheduler")
        assert cluster.alive("w1") and cluster.alive("w2"), cluster.tail("w1") + cluster.tail("w2")
        end = len(dedup_web.web.log)
        crawl = _result(settings, start, end)
    finally:
        cluster.close()
        redis_server.close()
    print(f"\nRedis down {down_s} s: progress resumed {recovery_s:.1f} s after it was back")
    assert recovery_s <= 30
    scheduler_log = (tmp_path / "logs" / "scheduler.log").read_text()
    assert scheduler_log.count("store_outage_started") == 1 and "Traceback" not in scheduler_log
    _assert_same_index(crawl, embedded)


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


def test_a_killed_worker_costs_at_most_the_lease_timeout_with_default_settings(
    dedup_web: DedupWeb, outlets_file: Path, embedded: Crawl, prefix: str, tmp_path: Path
) -> None:
    undisturbed = _timed_crawl(
        _default_leases(dedup_web, tmp_path / "calm", outlets_file, f"{prefix}-calm"),
        tmp_path / "calm-logs",
        None,
        len(embedded.docs),
    )
    settings = _default_leases(dedup_web, tmp_path / "kill", outlets_file, prefix)
    assert settings.frontier.lease_timeout_s <= 60
    start = len(dedup_web.web.log)
    disturbed = _timed_crawl(settings, tmp_path / "kill-logs", 1 / 3, len(embedded.docs))
    crawl = _result(settings, start, len(dedup_web.web.log))
    print(f"\nundisturbed {undisturbed:.1f} s, one of two workers killed {disturbed:.1f} s")
    assert disturbed <= undisturbed + 90
    _assert_same_index(crawl, embedded)


def test_sigterm_stops_scheduler_and_worker_cleanly_and_loses_nothing(
    dedup_web: DedupWeb, outlets_file: Path, embedded: Crawl, prefix: str, tmp_path: Path
) -> None:
    settings = _distributed(dedup_web, tmp_path / "data", outlets_file, prefix)
    cluster = Cluster(settings, tmp_path / "logs")
    start = len(dedup_web.web.log)
    try:
        cluster.start_worker("w1")
        cluster.start_scheduler("scheduler", until_idle=False)
        deadline = time.monotonic() + 120
        while _indexed(settings) < len(embedded.docs) // 4:
            assert time.monotonic() < deadline, cluster.tail("w1")
            time.sleep(0.1)
        proc = cluster.procs["scheduler"]
        stopped = time.monotonic()
        proc.terminate()
        assert proc.wait(10) == 0, cluster.tail("scheduler")
        scheduler_stop_s = time.monotonic() - stopped
        worker = cluster.procs["w1"]
        stopped = time.monotonic()
        worker.terminate()  # Celery's warm shutdown: the task in hand finishes first
        assert worker.wait(settings.workers.task_time_limit_s + 10) == 0, cluster.tail("w1")
        worker_stop_s = time.monotonic() - stopped
        cluster.start_worker("w2")
        cluster.start_scheduler("scheduler-2")
        assert cluster.wait("scheduler-2", 240) == 0, cluster.tail("scheduler-2")
        crawl = _result(settings, start, len(dedup_web.web.log))
    finally:
        cluster.close()
    print(f"\nscheduler stopped in {scheduler_stop_s:.2f} s, worker in {worker_stop_s:.2f} s")
    _assert_same_index(crawl, embedded)
