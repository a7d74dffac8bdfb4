"""The Elasticsearch/OpenSearch indexer against a real engine: osmem-server for OpenSearch and,
through the test-only proxy (tests/search_engine.py), for the Elasticsearch client; a real
cluster for the latter when ELASTICSEARCH_URL is set. Real Redis streams, real processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from indexer.engine import IndexAdmin
from indexer.search_index import SearchEngineIndex
from indexer.stream import StreamIndexer
from newscrawl.app.engine import CrawlEngine
from newscrawl.app.factory import build_components, build_index, build_stream_writer
from newscrawl.core.document import Document, doc_id
from newscrawl.core.interfaces import SearchQuery
from newscrawl.core.redis_keys import IndexKeys
from newscrawl.core.settings import Settings
from scheduler.outlets import load_outlets
from tests.cluster import REPO, PrivateRedis, settings_env
from tests.conftest import REDIS_URL, drop_redis_prefix, make_settings, redis_available
from tests.replay import ReplayWeb
from tests.search_engine import ElasticProxy

osmem_server = pytest.importorskip("osmem_server")


@pytest.fixture(scope="module", autouse=True)
def _needs_redis() -> None:
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")


@pytest.fixture(scope="module")
def osmem() -> Iterator[Any]:
    with osmem_server.OsmemServer.start(japanese=False) as server:
        yield server


@dataclass
class Target:
    flavor: str
    url: str
    proxy: ElasticProxy | None = None


@pytest.fixture(params=["opensearch", "elasticsearch"])
def target(request: pytest.FixtureRequest, osmem: Any) -> Iterator[Target]:
    if request.param == "opensearch":
        yield Target("opensearch", osmem.url)
        return
    proxy = ElasticProxy(os.environ.get("ELASTICSEARCH_URL") or osmem.url).start()
    yield Target("elasticsearch", proxy.url, proxy)
    proxy.stop()


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"nctest-{uuid.uuid4().hex[:12]}"
    yield name
    drop_redis_prefix(name)


def engine_settings(tmp: Path, target: Target, prefix: str, **index: Any) -> Settings:
    return make_settings(
        tmp,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        index={
            "backend": "elasticsearch",
            "url": target.url,
            "flavor": target.flavor,
            "name": prefix,
            "request_timeout_s": 5.0,
            "retry_base_s": 0.2,
            "retry_max_s": 2.0,
            "claim_idle_s": 4.0,
            **index,
        },
    )


def make_docs(n: int, seed: str = "") -> list[Document]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        url = f"http://outlet-{i % 3}.example/{seed}story-{i}"
        docs.append(
            Document(
                id=doc_id(url),
                url=url,
                canonical_url=url,
                outlet=f"outlet-{i % 3}",
                host=f"outlet-{i % 3}.example",
                title=f"Story {i}: the harbour council meets again",
                body=f"Paragraph one of story {i}. The harbour council met on day {i % 28}. " * 8,
                published_at=start + timedelta(hours=i),
                language="en",
                fetched_at=start,
            )
        )
    return docs


def load(settings: Settings, consumer: str = "t") -> dict[str, Any]:
    stats = asyncio.run(StreamIndexer(settings, consumer).run(until_drained=True))
    return vars(stats)


def refreshed(settings: Settings) -> SearchEngineIndex:
    index = build_index(settings)
    index.refresh()
    return index


def indexer_process(settings: Settings, name: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env(settings)}
    cmd = [sys.executable, "-m", "newscrawl", "indexer", "--until-drained", "--name", name]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def counter(settings: Settings, name: str) -> int:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return int(client.hget(IndexKeys(settings.redis_prefix).counters, name) or 0)
    finally:
        client.close()


# --- a crawl, end to end -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def crawled_stream(replay: ReplayWeb, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """The replay web crawled once with the search-engine backend: its stream, kept under a prefix."""
    tmp = tmp_path_factory.mktemp("es-crawl")
    outlets = tmp / "outlets.toml"
    outlets.write_text(replay.outlets_toml, "utf-8")
    prefix = f"nctest-{uuid.uuid4().hex[:12]}"
    settings = make_settings(
        tmp / "data",
        fetch={"proxy": replay.web.proxy_url},
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        index={"backend": "elasticsearch", "url": "http://127.0.0.1:9", "flavor": "opensearch"},
    )
    components = build_components(settings, load_outlets(outlets))
    stats = asyncio.run(CrawlEngine(components).run(until_idle=True))
    components.close()
    yield prefix, stats.articles
    drop_redis_prefix(prefix)


def copy_stream(source_prefix: str, prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    src, dst = IndexKeys(source_prefix).stream, IndexKeys(prefix).stream
    for _, fields in client.xrange(src):
        client.xadd(dst, fields)
    client.close()


def test_a_crawl_ends_with_every_article_searchable_once(
    crawled_stream: tuple[str, int], replay: ReplayWeb, target: Target, prefix: str, tmp_path: Path
) -> None:
    source, articles = crawled_stream
    copy_stream(source, prefix)
    settings = engine_settings(tmp_path, target, prefix)
    load(settings)
    index = refreshed(settings)
    docs = list(index.export())
    assert len(docs) == articles >= 270
    urls = [d.url for d in docs]
    assert len(urls) == len(set(urls))
    assert set(urls) <= set(replay.pages)
    assert index.count() == articles
    index.close()


# --- faults ------------------------------------------------------------------------------------


def test_a_frozen_engine_loses_nothing(prefix: str, tmp_path: Path) -> None:
    """The engine stops answering for 30 s (SIGSTOP) in the middle of a load."""
    with osmem_server.OsmemServer.start(japanese=False) as own:
        target = Target("opensearch", own.url)
        settings = engine_settings(tmp_path, target, prefix, bulk_max_docs=50)
        IndexAdmin(settings).init()
        writer = build_stream_writer(settings)
        docs = make_docs(3000)
        for doc in docs:
            writer.index(doc)
        proc = indexer_process(settings, "frozen", tmp_path / "indexer.log")
        try:
            deadline = time.monotonic() + 60
            while counter(settings, "indexed") < 300:
                assert time.monotonic() < deadline and proc.poll() is None, (
                    tmp_path / "indexer.log"
                ).read_text()
                time.sleep(0.05)
            os.kill(own.pid, signal.SIGSTOP)
            try:
                frozen_at = counter(settings, "indexed")
                time.sleep(30)
                assert proc.poll() is None, "the indexer gave up while the engine was frozen"
                assert counter(settings, "indexed") <= frozen_at + 50
                assert counter(settings, "retries") > 0
            finally:
                os.kill(own.pid, signal.SIGCONT)
            back = time.monotonic()
            frozen_end = counter(settings, "indexed")
            while counter(settings, "indexed") <= frozen_end and proc.poll() is None:
                assert time.monotonic() - back < 30, "no progress within 30 s of the engine's return"
                time.sleep(0.05)
            print(f"\nengine frozen 30 s: loading resumed {time.monotonic() - back:.1f} s after SIGCONT")
            assert proc.wait(120) == 0, (tmp_path / "indexer.log").read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
        index = refreshed(settings)
        assert sorted(d.id for d in index.export()) == sorted(d.id for d in docs)
        index.close()
        writer.close()


def test_429s_and_refused_connections_are_retried(prefix: str, tmp_path: Path, osmem: Any) -> None:
    proxy = ElasticProxy(os.environ.get("ELASTICSEARCH_URL") or osmem.url).start()
    try:
        target = Target("elasticsearch", proxy.url, proxy)
        settings = engine_settings(tmp_path, target, prefix, bulk_max_docs=100)
        IndexAdmin(settings).init()
        writer = build_stream_writer(settings)
        docs = make_docs(1000)
        for doc in docs:
            writer.index(doc)
        proxy.bulk_failures = [429, 429, 503, 429]
        result: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: result.update(load(settings)))
        thread.start()
        deadline = time.monotonic() + 30
        while counter(settings, "indexed") < 200:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proxy.refuse_connections()
        time.sleep(30)  # the fault matrix's row: the engine refusing connections for 30 s
        refused = counter(settings, "indexed")
        proxy.accept_connections()
        back = time.monotonic()
        while counter(settings, "indexed") <= refused and thread.is_alive():
            assert time.monotonic() - back < 30, "no progress within 30 s of the engine's return"
            time.sleep(0.05)
        print(f"\nengine refused 30 s: loading resumed {time.monotonic() - back:.1f} s after it was back")
        thread.join(120)
        assert not thread.is_alive()
        assert not proxy.bulk_failures  # every injected 429/503 was answered
        assert result["retries"] >= 4 and result["dead_lettered"] == 0
        index = refreshed(settings)
        assert sorted(d.id for d in index.export()) == sorted(d.id for d in docs)
        index.close()
        writer.close()
    finally:
        proxy.stop()


def test_a_bad_document_is_dead_lettered_and_the_rest_indexed(
    target: Target, prefix: str, tmp_path: Path
) -> None:
    settings = engine_settings(tmp_path, target, prefix)
    IndexAdmin(settings).init()
    writer = build_stream_writer(settings)
    docs = make_docs(30)
    for doc in docs[:15]:
        writer.index(doc)
    # Fault injection: an operation whose document does not fit the mapping (a date that is none).
    bad = docs[15].to_dict() | {"published_at": "the day before yesterday"}
    client = redis.Redis.from_url(REDIS_URL)
    keys = IndexKeys(prefix)
    client.xadd(keys.stream, {"op": "index", "id": docs[15].id, "payload": json.dumps(bad)})
    for doc in docs[16:]:
        writer.index(doc)
    stats = load(settings)
    assert stats["dead_lettered"] == 1
    (entry,) = client.xrange(keys.dead_letters)
    fields = {k.decode(): v.decode() for k, v in entry[1].items()}
    assert fields["id"] == docs[15].id and fields["status"] == "400"
    assert "published_at" in fields["reason"]
    index = refreshed(settings)
    assert sorted(d.id for d in index.export()) == sorted(d.id for i, d in enumerate(docs) if i != 15)
    assert client.xpending(keys.stream, keys.group)["pending"] == 0
    assert client.xlen(keys.stream) <= 1  # acknowledged entries are trimmed: the stream is the backlog
    client.close()
    index.close()
    writer.close()


def test_kill_9_of_the_indexer_mid_bulk_loses_and_duplicates_nothing(
    osmem: Any, prefix: str, tmp_path: Path
) -> None:
    settings = engine_settings(tmp_path, Target("opensearch", osmem.url), prefix, bulk_max_docs=200)
    IndexAdmin(settings).init()
    writer = build_stream_writer(settings)
    docs = make_docs(4000)
    for doc in docs:
        writer.index(doc)
    log = tmp_path / "indexer.log"
    first = indexer_process(settings, "indexer-a", log)
    deadline = time.monotonic() + 60
    while counter(settings, "indexed") < 400:
        assert time.monotonic() < deadline and first.poll() is None, log.read_text()
        time.sleep(0.01)
    first.kill()
    first.wait(10)
    assert counter(settings, "indexed") < len(docs), "the load ended before the kill"
    # Another indexer takes over the dead one's entries once they have been idle long enough.
    second = indexer_process(settings, "indexer-b", log)
    assert second.wait(120) == 0, log.read_text()[-3000:]
    index = refreshed(settings)
    ids = [d.id for d in index.export()]
    assert len(ids) == len(set(ids)) == len(docs)
    assert set(ids) == {d.id for d in docs}
    index.close()
    writer.close()


def test_a_redis_restart_mid_load_crashes_nothing_and_loses_nothing(
    osmem: Any, prefix: str, tmp_path: Path
) -> None:
    """Redis (AOF on) shut down 5 s mid-load and started again: the indexer waits, then finishes."""
    redis_server = PrivateRedis(tmp_path / "redis")
    redis_server.start()
    try:
        settings = engine_settings(tmp_path, Target("opensearch", osmem.url), prefix, bulk_max_docs=100)
        settings = settings.model_copy(update={"redis_url": redis_server.url})
        IndexAdmin(settings).init()
        writer = build_stream_writer(settings)
        docs = make_docs(3000, seed="restart-")
        for doc in docs:
            writer.index(doc)
        log = tmp_path / "indexer.log"
        proc = indexer_process(settings, "indexer-r", log)
        deadline = time.monotonic() + 60
        while counter(settings, "indexed") < 300:
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.02)
        redis_server.shutdown()
        time.sleep(5)
        assert proc.poll() is None, "the indexer exited while Redis was down:\n" + log.read_text()[-3000:]
        redis_server.start()
        assert proc.wait(120) == 0, log.read_text()[-3000:]
        index = refreshed(settings)
        ids = [d.id for d in index.export()]
        index.close()
    finally:
        redis_server.close()
    assert len(ids) == len(set(ids)) == len(docs)
    text = log.read_text()
    assert text.count("store_outage_started") == 1 and "Traceback" not in text


def test_reindex_swaps_the_alias_while_searches_answer(target: Target, prefix: str, tmp_path: Path) -> None:
    settings = engine_settings(tmp_path, target, prefix)
    admin = IndexAdmin(settings)
    admin.init()
    writer = build_stream_writer(settings)
    docs = make_docs(400)
    for doc in docs:
        writer.index(doc)
    load(settings)
    index = refreshed(settings)
    answers: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def search() -> None:
        reader = build_index(settings)
        while not stop.is_set():
            try:
                answers.append(reader.count())
            except Exception as exc:
                errors.append(repr(exc))
        reader.close()

    thread = threading.Thread(target=search)
    thread.start()
    time.sleep(0.3)
    result = admin.reindex()
    time.sleep(0.3)
    stop.set()
    thread.join(10)
    assert result["from"] == f"{prefix}-v1" and result["to"] == f"{prefix}-v2"
    assert not errors, errors[:3]
    assert len(answers) > 10 and set(answers) == {len(docs)}
    assert admin.status()["index"] == f"{prefix}-v2"
    assert index.count() == len(docs)
    index.close()
    writer.close()


def test_search_hides_duplicates_and_takes_later_corrections(
    target: Target, prefix: str, tmp_path: Path
) -> None:
    settings = engine_settings(tmp_path, target, prefix)
    IndexAdmin(settings).init()
    writer = build_stream_writer(settings)
    original, copy, other = make_docs(3, seed="dup-")
    original.title = "Ferry strike closes the harbour"
    copy.title = "Ferry strike closes the harbour (wire)"
    copy.duplicate_of = original.id
    for doc in (original, copy, other):
        writer.index(doc)
    writer.update(original.id, {"also_seen_at": ["http://aggregator.example/a/ferry"]})
    load(settings)
    index = refreshed(settings)
    hits = index.search(SearchQuery(text="ferry strike"))
    assert [h.document.id for h in hits] == [original.id]
    assert "<em>" in hits[0].snippet or hits[0].snippet
    assert set(hits[0].appearances) == {"http://aggregator.example/a/ferry", copy.url}
    assert len(index.search(SearchQuery(text="ferry strike", include_duplicates=True))) == 2
    assert index.count(include_duplicates=False) == 2
    env = {**os.environ, **settings_env(settings)}
    cli = subprocess.run(
        [sys.executable, "-m", "newscrawl", "search", "ferry", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    (line,) = cli.stdout.splitlines()
    assert json.loads(line)["id"] == original.id
    index.close()
    writer.close()


def test_sigterm_stops_the_indexer_cleanly_and_loses_nothing(osmem: Any, prefix: str, tmp_path: Path) -> None:
    """SIGTERM mid-load: the bulk in hand finishes or stays pending, exit 0; the next indexer ends it."""
    settings = engine_settings(tmp_path, Target("opensearch", osmem.url), prefix, bulk_max_docs=100)
    IndexAdmin(settings).init()
    writer = build_stream_writer(settings)
    docs = make_docs(2000, seed="sigterm-")
    for doc in docs:
        writer.index(doc)
    log = tmp_path / "indexer.log"
    env = {**os.environ, **settings_env(settings)}
    first = subprocess.Popen(
        [sys.executable, "-m", "newscrawl", "indexer", "--name", "indexer-t"],
        cwd=REPO,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while counter(settings, "indexed") < 200:
        assert time.monotonic() < deadline and first.poll() is None, log.read_text()
        time.sleep(0.02)
    first.terminate()
    stopped = time.monotonic()
    assert first.wait(settings.index.request_timeout_s + 5) == 0, log.read_text()[-3000:]
    print(f"\nindexer stopped {time.monotonic() - stopped:.2f} s after SIGTERM")
    second = indexer_process(settings, "indexer-t", log)  # the same name: its pending entries first
    assert second.wait(120) == 0, log.read_text()[-3000:]
    index = refreshed(settings)
    ids = [d.id for d in index.export()]
    index.close()
    assert len(ids) == len(set(ids)) == len(docs)
