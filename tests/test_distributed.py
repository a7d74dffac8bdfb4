"""Distributed mode with real processes: Redis, a scheduler, Celery workers, Flower.

The dedup web (duplicate groups known by construction among real articles) is crawled once by the
embedded mode and then by a scheduler and two Celery worker processes; the index, the duplicate
clusters and the errors must be the same, and the server must never see a host fetched faster than
the delay, across both workers. A second crawl kills a worker with SIGKILL and restarts the scheduler.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from newscrawl.core.settings import Settings
from tests.cluster import Cluster, PrivateRabbitMQ, free_port, get_json, settings_env
from tests.conftest import require_rabbitmq, require_redis
from tests.dedup_web import DedupWeb
from tests.distributed_support import (
    Crawl,
    _assert_polite,
    _assert_same_index,
    _distributed,
    _result,
)


@pytest.fixture(scope="module", autouse=True)
def _needs_redis() -> None:
    require_redis()


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
    assert stats["scheduler"]["seeded_age_s"] < 600
    assert stats["pages_per_s"] > 0
    assert stats["errors_by_kind"] == {k: v for k, v in stats["errors_by_kind"].items() if v > 0}
    # Flower, a real process, sees both workers and what each has run.
    names = sorted(n.split("@")[0] for n in workers)
    assert names == ["w1", "w2"], names
    for name, info in workers.items():
        done = info["stats"]["total"].get("newscrawl.crawl", 0)
        assert done > 0, (name, info["stats"]["total"])


def test_stats_asks_a_rabbitmq_broker_for_the_queue_depth_and_its_consumers(
    dedup_web: DedupWeb, outlets_file: Path, prefix: str, tmp_path: Path
) -> None:
    """With RabbitMQ as the broker, `newscrawl stats` reads the task queue from the broker itself
    (a passive declare), not from Redis, where no such queue exists."""
    require_rabbitmq()
    broker = PrivateRabbitMQ()
    settings = _distributed(dedup_web, tmp_path / "data", outlets_file, prefix, broker_url=broker.url)
    cluster = Cluster(settings, tmp_path / "logs")
    queue = settings.workers.queue
    try:
        broker.start()
        before = _cli_stats(settings)["queues"]  # nothing has declared the queue yet
        cluster.start_worker("w1")
        deadline = time.monotonic() + 60
        while " ready." not in cluster.tail("w1", 200_000):
            assert time.monotonic() < deadline and cluster.alive("w1"), cluster.tail("w1")
            time.sleep(0.2)
        after = _cli_stats(settings)["queues"]
    finally:
        cluster.close()
        broker.close()
    assert "NOT_FOUND" in before[f"{queue}.error"], before
    assert after == {f"{queue}.waiting": 0, f"{queue}.consumers": 1}, after
