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
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from newscrawl.app.factory import build_frontier, build_index
from newscrawl.app.localweb import LocalWeb, Resource
from newscrawl.core.records import FrontierEntry, Lease, lease_from_json, lease_to_json
from newscrawl.core.settings import Settings
from scheduler.service import CeleryDispatcher, batches
from tests.cluster import REPO, Cluster, PrivateRabbitMQ, free_port, get_json, settings_env
from tests.conftest import (
    REDIS_URL,
    make_distributed_settings,
    make_settings,
    require_rabbitmq,
    require_redis,
)
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


def _flower_workers(port: int, want: int, prefix: str, deadline_s: float = 30) -> dict[str, Any]:
    """The workers of this test's crawl (``prefix`` in their node names) that Flower reports."""
    deadline = time.monotonic() + deadline_s
    workers: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            seen = get_json(f"http://127.0.0.1:{port}/api/workers?refresh=1", timeout_s=10)
        except OSError:
            seen = {}
        workers = {name: info for name, info in seen.items() if f".{prefix}@" in name}
        if len(workers) >= want and all("stats" in w for w in workers.values()):
            return workers
        time.sleep(0.5)
    raise AssertionError(f"Flower reported {sorted(workers)}")


def test_a_lease_whose_holder_died_with_it_goes_in_a_task_of_its_own() -> None:
    """Should the page kill workers, it takes no other page of its batch down again."""
    leases = [
        Lease(
            f"http://a{i}.example/2026/12/06/story", f"a{i}.example", "article", "a", 1, lost=int(i in (2, 5))
        )
        for i in range(9)
    ]
    tasks = batches(leases, 4)
    suspects = [task for task in tasks if any(lease.lost for lease in task)]
    assert sorted(len(task) for task in suspects) == [1, 1]
    assert sorted(len(task) for task in tasks if task not in suspects) == [3, 4]
    assert sorted(lease.url for task in tasks for lease in task) == sorted(lease.url for lease in leases)


def test_a_lease_from_a_newer_scheduler_still_runs() -> None:
    """During a rolling update a task may carry lease fields this worker does not know."""
    lease = Lease("http://a.example/2026/12/06/story", "a.example", "article", "a", 1, lost=1)
    assert lease_from_json({**lease_to_json(lease), "a_field_of_a_later_version": 7}) == lease


def test_two_workers_crawl_what_the_embedded_mode_crawls(
    dedup_web: DedupWeb, outlets_file: Path, embedded: Crawl, prefix: str, tmp_path: Path
) -> None:
    """One worker on Celery's default prefork pool, one on the solo pool (one process, as in a
    container per worker)."""
    settings = _distributed(dedup_web, tmp_path / "data", outlets_file, prefix)
    cluster = Cluster(settings, tmp_path / "logs")
    port = free_port()
    start = len(dedup_web.web.log)
    try:
        cluster.start_worker("w1")
        cluster.start_worker("w2", pool="solo")
        cluster.start_flower(port)
        cluster.start_scheduler()
        assert cluster.wait("scheduler", 240) == 0, cluster.tail("scheduler")
        end = len(dedup_web.web.log)
        workers = _flower_workers(port, 2, prefix)
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
    names = sorted(n.split(".")[0] for n in workers)
    assert names == ["w1", "w2"], names
    for name, info in workers.items():
        done = info["stats"]["total"].get("newscrawl.crawl", 0)
        assert done > 0, (name, info["stats"]["total"])


def test_a_worker_on_a_pool_whose_tasks_share_its_process_refuses_to_start(
    prefix: str, tmp_path: Path
) -> None:
    """Tasks running at once in one process would share its event loop and store connections
    (SQLite refused them: before session 24 most pages failed as internal errors). The worker
    says which pools it runs on and exits before taking a task."""
    settings = make_settings(tmp_path / "data", redis_prefix=prefix, workers={"queue": f"{prefix}-tasks"})
    argv = [sys.executable, "-m", "celery", "-A", "workers", "worker", "--pool", "threads", "-c", "2"]
    done = subprocess.run(
        argv,
        cwd=REPO,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "prefork pool (the default) or solo, not threads" in done.stderr
    assert "Traceback" not in done.stderr


def test_crawls_sharing_a_redis_under_two_prefixes_never_take_each_others_tasks(
    prefix: str, tmp_path: Path
) -> None:
    """Two crawls on one Redis, told apart by ``redis_prefix`` alone (the queue left at its
    default): a worker takes only its own crawl's tasks. Before session 24 both crawls sent to the
    queue "newscrawl"; a worker of one took the other's task, found none of its leases in its own
    frontier and dropped it, and the other crawl's pages waited for their leases to expire."""
    text = "A paragraph of the story that one of two crawls fetches. " * 12
    pages = {
        f"http://{crawl}-{i}.example/2026/12/06/story-{i}": Resource(
            body=f"<html><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>"
            f"<p>{text}</p></article></body></html>".encode()
        )
        for crawl in ("first", "second")
        for i in range(3)
    }
    with LocalWeb(pages) as web:
        crawls = {}
        for crawl in ("first", "second"):
            settings = make_settings(
                tmp_path / crawl,
                fetch={"proxy": web.proxy_url},
                politeness={"min_delay_ms": 0, "respect_robots": False},
                frontier={"backend": "redis"},
                dedup={"backend": "redis"},
                redis_url=REDIS_URL,
                redis_prefix=f"{prefix}-{crawl}",
            )
            assert settings.workers.queue is None
            frontier = build_frontier(settings, [])
            ours = [url for url in pages if f"//{crawl}-" in url]
            frontier.add([FrontierEntry(url, "article") for url in ours], frontier.now())
            crawls[crawl] = (settings, frontier, frontier.lease(frontier.now(), 10))
        first, first_frontier, first_leases = crawls["first"]
        second, second_frontier, second_leases = crawls["second"]
        cluster = Cluster(first, tmp_path / "logs")
        try:
            cluster.start_worker("w1")  # the first crawl's only worker
            CeleryDispatcher(second).dispatch(second_leases)
            CeleryDispatcher(first).dispatch(first_leases)
            deadline = time.monotonic() + 60
            while first_frontier.in_flight():
                assert time.monotonic() < deadline, cluster.tail("w1")
                time.sleep(0.2)
            time.sleep(2)  # the second crawl's task would have been taken by now
            stats = _cli_stats(first)
        finally:
            cluster.close()
            first_frontier.close()
        try:
            assert second_frontier.in_flight() == len(second_leases)  # waiting for its own workers
        finally:
            second_frontier.close()
        fetched = {entry.url for entry in web.log}
    assert fetched == {lease.url for lease in first_leases}
    assert stats["workers"].get("stale_leases", 0) == 0, stats["workers"]
    assert stats["queues"][f"{prefix}-first.waiting"] == 0


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_a_worker_whose_outlets_file_goes_missing_stops_and_hands_the_task_back(
    pool: str, prefix: str, tmp_path: Path
) -> None:
    """A worker whose outlets file went missing after it started (a volume unmounted, a file
    renamed) can run no task: it says why once and stops (a warm shutdown), and the task goes
    back to the queue for a worker that can. Before session 24 it failed every task it was
    handed, each with a traceback, and kept taking more."""
    outlets_file = tmp_path / "outlets.toml"
    outlets_file.write_text('[[outlet]]\nname = "a"\nurls = ["http://a.example/"]\n', "utf-8")
    settings = make_distributed_settings(
        tmp_path / "data", prefix, outlets_file=outlets_file, politeness={"respect_robots": False}
    )
    frontier = build_frontier(settings, [])
    try:
        frontier.add([FrontierEntry("http://a.example/2026/12/06/story", "article", "a")], frontier.now())
        leases = frontier.lease(frontier.now(), 1)
    finally:
        frontier.close()
    cluster = Cluster(settings, tmp_path / "logs")
    try:
        cluster.start_worker("w1", pool=pool)
        cluster.wait_ready("w1")
        outlets_file.unlink()
        CeleryDispatcher(settings).dispatch(leases)
        cluster.wait("w1", 60)
        log = cluster.tail("w1", 1_000_000)
    finally:
        cluster.close()
    assert log.count('"worker_misconfigured"') == 1 and "outlets file not found" in log
    queued = redis.Redis.from_url(REDIS_URL).llen(settings.task_queue)
    assert queued == 1, "the task was not handed back"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"outlets_file": "missing.toml"}, "outlets file not found"),
        ({"dedup": {"backend": "sqlite"}}, "Celery workers share the frontier and the dedup store"),
    ],
    ids=["outlets-file-missing", "sqlite-dedup"],
)
def test_a_worker_that_could_run_no_task_refuses_to_start(
    overrides: dict[str, Any], message: str, prefix: str, tmp_path: Path
) -> None:
    """As every newscrawl command does with bad settings: one line, exit 2, before it takes a
    task. Before session 25 it started, and stopped at its first task (or failed them all)."""
    if "outlets_file" in overrides:
        overrides = {"outlets_file": tmp_path / overrides["outlets_file"]}
    settings = make_distributed_settings(tmp_path / "data", prefix, **overrides)
    cluster = Cluster(settings, tmp_path / "logs")
    try:
        cluster.start_worker("w1")
        returncode = cluster.wait("w1", 60)
        log = cluster.tail("w1")
    finally:
        cluster.close()
    assert returncode == 2, log
    assert f"newscrawl: {message}" in log and "Traceback" not in log, log


def test_a_task_delivered_twice_while_it_runs_fetches_each_page_once(prefix: str, tmp_path: Path) -> None:
    """A broker may hand a running task to a second worker: RabbitMQ when the first worker's
    connection drops, Celery's Redis transport when a worker whose clock runs ahead takes the
    first's task for lost. Here the scheduler's side sends the same batch twice to two workers,
    with pages that take two seconds to answer: the copy finds its leases claimed."""
    text = "A paragraph of the story that the slow server sends. " * 12
    pages = {
        f"http://late-{i}.example/2026/12/05/a-story-that-takes-its-time-{i}": Resource(
            body=f"<html><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>"
            f"<p>{text}</p></article></body></html>".encode(),
            answer_after_s=2.0,
        )
        for i in range(4)
    }
    with LocalWeb(pages) as web:
        settings = make_settings(
            tmp_path / "data",
            fetch={"proxy": web.proxy_url},
            politeness={"min_delay_ms": 0, "respect_robots": False},
            frontier={"backend": "redis"},
            dedup={"backend": "redis"},
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            workers={"queue": f"{prefix}-tasks", "batch_size": 4},
        )
        frontier = build_frontier(settings, [])
        frontier.add([FrontierEntry(url, "article") for url in pages], frontier.now())
        leases = frontier.lease(frontier.now(), 10)
        assert len(leases) == len(pages)
        cluster = Cluster(settings, tmp_path / "logs")
        try:
            cluster.start_worker("w1")
            cluster.start_worker("w2")
            dispatcher = CeleryDispatcher(settings)
            dispatcher.dispatch(leases)
            dispatcher.dispatch(leases)  # the broker's second delivery of the same task
            deadline = time.monotonic() + 60
            while frontier.in_flight() or len(web.log) < len(pages):
                assert time.monotonic() < deadline, cluster.tail("w1") + cluster.tail("w2")
                time.sleep(0.2)
            time.sleep(3)  # a second fetch would have arrived by now
            stats = _cli_stats(settings)
        finally:
            cluster.close()
            frontier.close()
        requested = Counter(entry.url for entry in web.log)
    assert requested == Counter(list(pages)), requested
    assert stats["workers"].get("stale_leases", 0) == len(pages), stats["workers"]


def test_stats_asks_a_rabbitmq_broker_for_the_queue_depth_and_its_consumers(
    dedup_web: DedupWeb, outlets_file: Path, prefix: str, tmp_path: Path
) -> None:
    """With RabbitMQ as the broker, `newscrawl stats` reads the task queue from the broker itself
    (a passive declare), not from Redis, where no such queue exists."""
    require_rabbitmq()
    broker = PrivateRabbitMQ()
    settings = _distributed(dedup_web, tmp_path / "data", outlets_file, prefix, broker_url=broker.url)
    cluster = Cluster(settings, tmp_path / "logs")
    queue = settings.task_queue
    try:
        broker.start()
        before = _cli_stats(settings)["queues"]  # nothing has declared the queue yet
        cluster.start_worker("w1")
        cluster.wait_ready("w1")
        after = _cli_stats(settings)["queues"]
    finally:
        cluster.close()
        broker.close()
    assert "NOT_FOUND" in before[f"{queue}.error"], before
    assert after == {f"{queue}.waiting": 0, f"{queue}.consumers": 1}, after


def test_a_task_that_waited_in_the_queue_keeps_its_leases_while_it_runs(prefix: str, tmp_path: Path) -> None:
    """A task that starts late (it waited behind a backlog, or out a broker outage) holds leases
    near their timeout; they are renewed as it claims them. Before session 25 they expired
    before the first heartbeat and went to another worker while the first fetched them (seen
    in the RabbitMQ restart test: a batch of 13 pages fetched twice, 1.5 s apart)."""
    from newscrawl.app.factory import build_worker_runtime

    url = "http://late.example/2026/12/06/a-story-that-waited-in-the-queue"
    body = b"<html><head><title>Late</title></head><body><article><p>" + b"A story. " * 80 + b"</p>"
    with LocalWeb({url: Resource(body=body + b"</article></body></html>", answer_after_s=3.0)}) as web:
        settings = make_distributed_settings(
            tmp_path,
            prefix,
            frontier={"lease_timeout_s": 4.0, "lease_heartbeat_s": 1.9},
            politeness={"respect_robots": False},
            fetch={"proxy": web.proxy_url},
        )
        runtime = build_worker_runtime(settings)
        frontier = runtime.frontier
        try:
            frontier.add([FrontierEntry(url, "article")], frontier.now())
            leases = frontier.lease(frontier.now(), 1)
            time.sleep(3.0)  # in the queue, most of the lease timeout
            worker = threading.Thread(target=runtime.run_batch, args=(leases,))
            worker.start()
            time.sleep(1.5)  # past the lease's first deadline, before the worker's first heartbeat
            handed_out_again = frontier.lease(frontier.now(), 10)
            worker.join(30)
        finally:
            runtime.close()
    assert handed_out_again == []
    assert [entry.url for entry in web.log] == [url]


def test_a_store_outage_as_a_batch_starts_is_waited_out_not_a_failed_task(tmp_path: Path) -> None:
    """Redis goes away just as a worker's task claims its leases (seen in CI: a restart caught
    the claim). The task waits the outage out like any store write; before session 22 it failed
    with StoreError and a traceback. Only the fault is injected: the claim's first attempt fails
    as a reset connection does; the stores are real."""
    from newscrawl.app.factory import build_worker_runtime
    from newscrawl.core.errors import StoreError
    from tests.conftest import drop_redis_prefix

    prefix = f"nctest-claim-{os.getpid()}"
    settings = make_settings(
        tmp_path,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        frontier={"backend": "redis"},
        dedup={"backend": "redis"},
    )
    runtime = build_worker_runtime(settings)
    frontier = runtime.frontier
    try:
        frontier.add([FrontierEntry(url="http://outlet.example/story", kind="article")], now=frontier.now())
        leases = frontier.lease(now=frontier.now(), limit=1)
        assert leases
        attempts: list[int] = []
        claim = runtime.frontier.claim

        def reset_once(batch: Any, runner: str, now: float | None = None) -> list[bool]:
            attempts.append(1)
            if len(attempts) == 1:
                raise StoreError("redis EVALSHA: Connection reset by peer")
            return claim(batch, runner, now)

        runtime.frontier.claim = reset_once  # type: ignore[method-assign]
        runtime.run_batch(leases)
        assert len(attempts) == 2
        # The page was fetched (it fails: the host does not resolve here) and settled.
        assert frontier.stats()["urls"].get("leased", 0) == 0, frontier.stats()
    finally:
        runtime.close()
        drop_redis_prefix(prefix)


_LOST_ACK = """
import logging, sys
import redis
from celery.signals import after_setup_logger
from celery.utils.log import get_logger
from kombu.message import Message
import workers.celery

class Channel:  # the broker connection dropped as the worker acknowledged a task
    no_ack_consumers = ()
    def basic_ack(self, *args, **kwargs):
        raise redis.exceptions.ConnectionError("Error while reading from 127.0.0.1:6379 : (104, ...)")

root = logging.getLogger()
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
root.handlers = [handler]
after_setup_logger.send(
    sender=None, logger=root, loglevel=logging.INFO, logfile=None, format="", colorize=False
)
Message(body=b"{}", channel=Channel(), delivery_tag="t-1").ack_log_error(
    get_logger("celery.worker.request"), workers.celery.app.connection_for_write().connection_errors
)
try:
    raise ValueError("a bug")
except ValueError:
    get_logger("celery.worker.request").critical("something else", exc_info=True)
"""


def test_an_ack_the_dropping_broker_refuses_is_one_warning_line_not_a_traceback(
    prefix: str, tmp_path: Path
) -> None:
    """Redis (or RabbitMQ) restarted just as a worker acknowledges a task: kombu logs "Couldn't
    ack" at CRITICAL with a traceback, though Celery restores the message and its rerun finds
    the leases claimed. Seen once in the empty-Redis restart test. The worker logs one warning
    line instead; any other error keeps its traceback."""
    settings = make_distributed_settings(tmp_path / "data", prefix)
    result = subprocess.run(
        [sys.executable, "-c", _LOST_ACK],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    ack = [line for line in lines if "Couldn't ack" in line]
    assert len(ack) == 1 and ack[0].startswith("WARNING") and "broker connection dropped" in ack[0], lines
    assert result.stdout.count("Traceback") == 1 and "ValueError: a bug" in result.stdout, lines


def test_a_feed_the_home_page_names_on_another_name_is_crawled_by_the_workers(
    prefix: str, tmp_path: Path
) -> None:
    """The distributed path of a feed served from another name than its outlet's (a CDN's):
    the Redis frontier's robots lease before it names the feed's outlet, the scheduler sends it,
    a Celery worker fetches that host's robots.txt and then the feed, whose story only it lists
    is indexed; a partner's feed the page names is fetched once and its story is not taken."""
    require_redis()
    site, cdn_feed, partner_feed = (
        "http://paper.example",
        "http://feeds.paper-cdn.example/rss",
        "http://other.example/rss",
    )
    story, partner_story = (
        f"{site}/2026/12/07/harbour-bridge-reopens",
        "http://other.example/2026/12/07/theirs",
    )

    def rss(url: str) -> Resource:
        item = (
            f"<item><title>t</title><link>{url}</link><pubDate>Mon, 07 Dec 2026 06:00:00 GMT</pubDate></item>"
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{item}</channel></rss>'
        return Resource(body.encode(), content_type="application/rss+xml")

    text = "The harbour bridge reopened this morning after a year of repairs and two delays. " * 12

    def article(title: str) -> Resource:
        return Resource(
            f"<html><body><article><h1>{title}</h1><p>{text}</p></article></body></html>".encode()
        )

    head = "".join(
        f'<link rel="alternate" type="application/rss+xml" title="t" href="{url}">'
        for url in (cdn_feed, partner_feed)
    )
    pages = {
        f"{site}/": Resource(f"<html><head>{head}</head><body><p>Today</p></body></html>".encode()),
        cdn_feed: rss(story),
        partner_feed: rss(partner_story),
        "http://feeds.paper-cdn.example/robots.txt": Resource(
            b"User-agent: *\nAllow: /\n", content_type="text/plain"
        ),
        story: article("Harbour bridge reopens"),
        partner_story: article("Theirs"),
    }
    outlets = tmp_path / "outlets.toml"
    outlets.write_text(f'[[outlet]]\nname = "paper"\nurls = ["{site}/"]\n', "utf-8")
    with LocalWeb(pages) as web:
        settings = make_distributed_settings(
            tmp_path / "data",
            prefix,
            outlets_file=outlets,
            fetch={"proxy": web.proxy_url},
            politeness={"min_delay_ms": 0},
            workers={"queue": f"{prefix}-tasks"},
        )
        cluster = Cluster(settings, tmp_path / "logs")
        try:
            cluster.start_worker("w1")
            cluster.start_scheduler()
            assert cluster.wait("scheduler", 120) == 0, cluster.tail("scheduler") + cluster.tail("w1")
        finally:
            cluster.close()
        requested = Counter(entry.url for entry in web.log)
    indexed = {doc.url for doc in build_index(settings).export()}
    assert story in indexed and partner_story not in indexed
    assert requested["http://feeds.paper-cdn.example/robots.txt"] == requested[cdn_feed] == 1
    assert requested[partner_feed] == 1 and requested[partner_story] == 0
