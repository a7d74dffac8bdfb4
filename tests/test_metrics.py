"""The Prometheus endpoints of a real scheduler, Celery worker and indexer, during a crawl of the
replay web into a real search engine (osmem-server)."""

from __future__ import annotations

import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster import Cluster, free_port
from tests.conftest import REDIS_URL, drop_redis_prefix, make_settings, redis_available
from tests.replay import ReplayWeb

osmem_server = pytest.importorskip("osmem_server")


@pytest.fixture
def prefix() -> Iterator[str]:
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    name = f"nctest-{uuid.uuid4().hex[:12]}"
    yield name
    drop_redis_prefix(name)


def scrape(port: int) -> dict[str, float]:
    """Every sample as 'name{label="value",...}' -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}"] = s.value
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for k, v in samples.items() if k.startswith(name + "{") and all(w in k for w in want))


def wait_for(port: int, deadline_s: float = 30) -> dict[str, float]:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return scrape(port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_metrics_endpoints_answer_and_move_during_a_crawl(
    replay: ReplayWeb, prefix: str, tmp_path: Path
) -> None:
    (tmp_path / "outlets.toml").write_text(replay.outlets_toml, "utf-8")
    with osmem_server.OsmemServer.start(japanese=False) as engine:
        settings = make_settings(
            tmp_path / "data",
            outlets_file=tmp_path / "outlets.toml",
            fetch={"proxy": replay.web.proxy_url},
            politeness={"min_delay_ms": 150},
            frontier={"backend": "redis"},
            dedup={"backend": "redis"},
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            workers={"queue": f"{prefix}-tasks", "batch_size": 4},
            index={"backend": "elasticsearch", "url": engine.url, "name": prefix, "flavor": "opensearch"},
        )
        ports = {"worker": free_port(), "scheduler": free_port(), "indexer": free_port()}
        cluster = Cluster(settings, tmp_path / "logs")
        try:
            cluster.start_worker("w1", metrics_port=ports["worker"])
            cluster.start_indexer("indexer", metrics_port=ports["indexer"])
            before = {kind: wait_for(ports[kind]) for kind in ("worker", "indexer")}
            assert total(before["worker"], "newscrawl_fetches_total") == 0
            cluster.start_scheduler(until_idle=False, metrics_port=ports["scheduler"])
            first = wait_for(ports["scheduler"])
            deadline = time.monotonic() + 90
            while total(scrape(ports["indexer"]), "newscrawl_indexed_total", op="index") < 20:
                assert time.monotonic() < deadline, cluster.tail("indexer") + cluster.tail("scheduler")
                time.sleep(0.5)
            time.sleep(6)  # the scheduler refreshes its frontier gauges every 5 s
            scheduler = scrape(ports["scheduler"])
            worker = scrape(ports["worker"])
            indexer = scrape(ports["indexer"])
        finally:
            cluster.close()
    # The worker: fetches by status and host, bytes, pages by kind, dedup outcomes.
    assert total(worker, "newscrawl_fetches_total", status="200") > 20
    assert len({k for k in worker if k.startswith("newscrawl_fetches_total{")}) > 20  # by status and host
    assert total(worker, "newscrawl_fetched_bytes_total") > 10_000
    assert total(worker, "newscrawl_pages_total", kind="article") >= 20
    assert total(worker, "newscrawl_dedup_total") >= 20
    # The scheduler: leases and tasks dispatched, politeness waits, frontier gauges.
    assert total(scheduler, "newscrawl_leases_dispatched_total") > total(
        first, "newscrawl_leases_dispatched_total"
    )
    assert total(scheduler, "newscrawl_leases_dispatched_total") >= 20
    assert total(scheduler, "newscrawl_tasks_dispatched_total") > 0
    assert total(scheduler, "newscrawl_politeness_wait_seconds_count") >= 20
    assert total(scheduler, "newscrawl_frontier_urls", state="done") >= 20
    # The indexer: bulk latency, confirmed operations, backlog.
    assert total(indexer, "newscrawl_bulk_seconds_count") > 0
    assert total(indexer, "newscrawl_indexed_total", op="index") >= 20
    assert "newscrawl_index_stream_backlog{}" in indexer
