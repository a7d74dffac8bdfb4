"""The Elasticsearch/OpenSearch indexer against a real engine: osmem-server for OpenSearch and,
through the test-only proxy (tests/search_engine.py), for the Elasticsearch client; a real
cluster for the latter when ELASTICSEARCH_URL is set. Real Redis streams, real processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from indexer.engine import IndexAdmin
from indexer.mapping import MAPPING_VERSION
from newscrawl.app.engine import CrawlEngine
from newscrawl.app.factory import build_components, build_index, build_stream_writer
from newscrawl.core.document import Document
from newscrawl.core.interfaces import SearchQuery
from newscrawl.core.redis_keys import IndexKeys
from scheduler.outlets import load_outlets
from tests.cluster import REPO, free_port, run_cli, settings_env
from tests.conftest import REDIS_URL, drop_redis_prefix, make_settings, require_redis
from tests.indexer_support import (
    Target,
    counter,
    engine_settings,
    indexer_process,
    load,
    make_docs,
    refreshed,
)
from tests.replay import ReplayWeb
from tests.search_engine import ElasticProxy

osmem_server = pytest.importorskip("osmem_server")


@pytest.fixture(scope="module", autouse=True)
def _needs_redis() -> None:
    require_redis()


@pytest.fixture(params=["opensearch", "elasticsearch"])
def target(request: pytest.FixtureRequest, osmem: Any) -> Iterator[Target]:
    if request.param == "opensearch":
        yield Target("opensearch", osmem.url)
        return
    proxy = ElasticProxy(os.environ.get("ELASTICSEARCH_URL") or osmem.url).start()
    yield Target("elasticsearch", proxy.url, proxy)
    proxy.stop()


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


def test_an_embedded_crawl_holds_back_while_the_index_stream_is_at_its_limit(
    crawled_stream: tuple[str, int], replay: ReplayWeb, osmem: Any, prefix: str, tmp_path: Path
) -> None:
    """`newscrawl crawl` with the search-engine index writes to the stream as workers do: with
    no indexer running, at ``index.max_backlog`` it leases nothing new (the backlog lives in
    Redis memory) until an indexer brings the backlog down; then it crawls to its end and
    everything reaches the index. Before session 25 it crawled on, the stream growing."""
    _, articles = crawled_stream
    limit = 40
    outlets = tmp_path / "outlets.toml"
    outlets.write_text(replay.outlets_toml, "utf-8")
    settings = engine_settings(tmp_path / "data", Target("opensearch", osmem.url), prefix, max_backlog=limit)
    settings = settings.model_copy(
        update={
            "outlets_file": outlets,
            "fetch": settings.fetch.model_copy(update={"proxy": replay.web.proxy_url}),
        }
    )
    log = tmp_path / "crawl.log"
    client = redis.Redis.from_url(REDIS_URL)
    crawl = subprocess.Popen(
        [sys.executable, "-m", "newscrawl", "crawl", "--until-idle"],
        cwd=REPO,
        env={**os.environ, **settings_env(settings)},
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
    indexer = None
    try:
        deadline = time.monotonic() + 60
        while "crawl_held_for_index_backlog" not in log.read_text("utf-8"):
            assert time.monotonic() < deadline and crawl.poll() is None, log.read_text("utf-8")[-3000:]
            time.sleep(0.2)
        time.sleep(1.5)  # the fetches in flight when the hold began
        held_at = len(replay.web.log)
        time.sleep(2)
        fetched_while_held = len(replay.web.log) - held_at
        backlog = client.xlen(IndexKeys(prefix).stream)
        indexer = indexer_process(settings, "i1", tmp_path / "indexer.log", until_drained=False)
        assert crawl.wait(120) == 0, log.read_text("utf-8")[-3000:]
        deadline = time.monotonic() + 60
        while (loaded := refreshed(settings)).count() < articles:
            loaded.close()
            assert time.monotonic() < deadline and indexer.poll() is None
            time.sleep(0.5)
        assert loaded.count() == articles
        loaded.close()
    finally:
        for process in (crawl, indexer):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        client.close()
    assert fetched_while_held == 0, "the crawl went on with the stream at its limit"
    assert limit <= backlog < articles, backlog
    assert "crawl_resumed_after_index_backlog" in log.read_text("utf-8")


# --- faults ------------------------------------------------------------------------------------


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


def test_the_dead_letter_stream_keeps_the_latest_refused_operations(
    osmem: Any, prefix: str, tmp_path: Path
) -> None:
    """A cause left unfixed (a mapping every document breaks) must not fill Redis: the
    dead-letter stream keeps the latest ``index.dead_letters_kept``; the counter keeps the total.
    Before session 25 it grew by every refused document, payload included."""
    settings = engine_settings(tmp_path, Target("opensearch", osmem.url), prefix, dead_letters_kept=3)
    IndexAdmin(settings).init()
    client = redis.Redis.from_url(REDIS_URL)
    keys = IndexKeys(prefix)
    docs = make_docs(8)
    loaded = 0
    for batch in (docs[:5], docs[5:]):
        for doc in batch:  # fault injection: documents that do not fit the mapping
            bad = doc.to_dict() | {"published_at": "the day before yesterday"}
            client.xadd(keys.stream, {"op": "index", "id": doc.id, "payload": json.dumps(bad)})
        loaded += load(settings)["dead_lettered"]
    kept = {entry[1][b"id"].decode() for entry in client.xrange(keys.dead_letters)}
    client.close()
    assert loaded == counter(settings, "dead_lettered") == len(docs)
    assert kept == {doc.id for doc in docs[5:]}


def test_an_index_lost_while_the_indexer_runs_is_made_again_with_its_mapping(
    target: Target, prefix: str, tmp_path: Path
) -> None:
    """The engine loses the index under a running indexer (a wiped or rebuilt cluster, an index
    deleted by hand). Writes must not create a plain index named like the write alias, with
    guessed mappings and no read alias (searches would never see it, and `index init` could not
    make the alias any more); the indexer makes the template, index and aliases again and loads on."""
    settings = engine_settings(tmp_path, target, prefix)
    admin = IndexAdmin(settings)
    admin.init()
    writer = build_stream_writer(settings)
    log = tmp_path / "indexer.log"
    proc = indexer_process(settings, "indexer-lost", log, until_drained=False)
    after = make_docs(30, seed="after-")
    try:
        for doc in make_docs(30, seed="before-"):
            writer.index(doc)
        deadline = time.monotonic() + 60
        while counter(settings, "indexed") < 30:
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.05)
        admin.client.request("DELETE", f"/{admin.versioned(1)}")
        admin.client.request("DELETE", f"/_index_template/{admin.name}")
        for doc in after:
            writer.index(doc)
        while counter(settings, "indexed") < 60:
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.05)
    finally:
        proc.terminate()
        assert proc.wait(30) == 0, log.read_text()[-3000:]
    status = admin.status()
    assert status["initialised"] and status["mapping_version"] == MAPPING_VERSION, status
    mapping = admin.client.request("GET", f"/{status['index']}/_mapping")
    assert mapping[status["index"]]["mappings"]["dynamic"] == "strict"
    index = refreshed(settings)
    assert sorted(d.id for d in index.export()) == sorted(d.id for d in after)
    index.close()
    admin.client.close()
    writer.close()
    text = log.read_text()
    assert text.count('"event": "index_lost"') == 1 and "Traceback" not in text
    assert counter(settings, "dead_lettered") == 0


def test_two_indexers_making_a_lost_index_again_at_once_both_go_on(
    target: Target, prefix: str, tmp_path: Path
) -> None:
    """Both looked, found no index and create it: the one that comes second finds it made (the
    race is injected: its first look is made to come before the other's creation)."""
    settings = engine_settings(tmp_path, target, prefix)
    first, second = IndexAdmin(settings), IndexAdmin(settings)
    injected: list[int | None] = [None]  # its first look: no index yet
    real_look = second.current_version

    def look() -> int | None:
        return injected.pop() if injected else real_look()

    second.current_version = look  # type: ignore[method-assign]
    assert first.init() == {"index": f"{prefix}-v1", "created": True}
    assert second.init() == {"index": f"{prefix}-v1", "created": False}
    assert second.status()["initialised"]
    first.client.close()
    second.client.close()


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


def test_a_reindex_while_the_indexer_loads_loses_nothing(target: Target, prefix: str, tmp_path: Path) -> None:
    """Ops run `newscrawl index reindex` with the indexer up and workers writing: what the indexer
    loads during the copy must reach the new index (before session 20 it went to the old one,
    after the copy had read it, and was gone with the alias swap)."""
    settings = engine_settings(tmp_path, target, prefix, bulk_max_docs=50)
    IndexAdmin(settings).init()
    writer = build_stream_writer(settings)
    before, during = make_docs(3000), make_docs(1500, seed="later-")
    for doc in before:
        writer.index(doc)
    load(settings)
    indexer = indexer_process(settings, "live", tmp_path / "indexer.log", until_drained=False)
    writing = threading.Thread(target=_write_slowly, args=(writer, during, 0.002))
    try:
        writing.start()
        time.sleep(0.5)
        reindex = run_cli(settings, "index", "reindex", timeout_s=120)
        writing.join(60)
        assert reindex.returncode == 0, reindex.stderr[-2000:]
        assert not writing.is_alive()
        deadline = time.monotonic() + 60
        while counter(settings, "indexed") < len(before) + len(during):
            assert time.monotonic() < deadline, (tmp_path / "indexer.log").read_text()[-2000:]
            time.sleep(0.2)
    finally:
        indexer.terminate()
        indexer.wait(30)
    assert json.loads(reindex.stdout)["to"] == f"{prefix}-v2"
    assert "indexing_paused" in reindex.stderr  # the reindex waited for the bulk in flight, if any
    index = refreshed(settings)
    assert IndexAdmin(settings).status()["index"] == f"{prefix}-v2"
    assert index.count() == len(before) + len(during)
    index.close()
    writer.close()


def _write_slowly(writer: Any, docs: list[Any], pause_s: float) -> None:
    for doc in docs:
        writer.index(doc)
        time.sleep(pause_s)


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
    other.title, other.language = "Fährstreik legt den Hafen lahm", "de"
    for doc in (original, copy, other):
        writer.index(doc)
    writer.update(original.id, {"also_seen_at": ["http://aggregator.example/a/ferry"]})
    load(settings)
    index = refreshed(settings)
    hits = index.search(SearchQuery(text="ferry strike", language="en"))
    assert [h.document.id for h in hits] == [original.id]
    assert [h.document.id for h in index.search(SearchQuery(text="fährstreik", language="de"))] == [other.id]
    assert index.search(SearchQuery(text="fährstreik", language="en")) == []
    assert "<em>" in hits[0].snippet or hits[0].snippet
    assert set(hits[0].appearances) == {"http://aggregator.example/a/ferry", copy.url}
    assert len(index.search(SearchQuery(text="ferry strike", include_duplicates=True))) == 2
    assert index.count(include_duplicates=False) == 2
    # A search consumer reaches the cluster only: no Redis is needed to search.
    without_redis = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    for searcher in (settings, without_redis):
        cli = run_cli(searcher, "search", "ferry", "--json")
        assert cli.returncode == 0, cli.stderr
        (line,) = cli.stdout.splitlines()
        assert json.loads(line)["id"] == original.id
    index.close()
    writer.close()


def test_a_story_fetched_again_is_rewritten_and_keeps_its_first_sighting(
    target: Target, prefix: str, tmp_path: Path
) -> None:
    """A story fetched again (its sitemap dated a change) is written over itself: the new text
    is searched, and ``first_seen_at`` stays the first fetch's, so time to index is still
    measured from it; a page the dedup store knew but the index lost is written whole. Before
    session 31 the engine's copy took the later fetch's time."""
    settings = engine_settings(tmp_path, target, prefix)
    IndexAdmin(settings).init()
    writer = build_stream_writer(settings)
    story, lost = make_docs(2, seed="again-")
    first_seen = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    story.first_seen_at = lost.first_seen_at = first_seen
    story.body = "Fire crews are still fighting the blaze in the warehouse."
    writer.index(story)
    load(settings)
    rewritten = dataclasses.replace(
        story,
        body="The blaze in the warehouse was put out overnight by volunteers.",
        first_seen_at=first_seen + timedelta(hours=2),
    )
    writer.index(rewritten, again=True)
    writer.index(lost, again=True)
    load(settings)
    index = refreshed(settings)
    found = index.get(story.id)
    assert found is not None and "put out overnight" in found.body
    assert found.first_seen_at == first_seen
    assert [h.document.id for h in index.search(SearchQuery(text="volunteers"))] == [story.id]
    assert index.search(SearchQuery(text="fighting")) == []
    assert index.get(lost.id) == lost
    index.close()
    writer.close()


def _consumers(settings: Any) -> dict[str, int]:
    """The indexers reading the stream, with how many entries each holds unacknowledged."""
    client = redis.Redis.from_url(settings.redis_url)
    keys = IndexKeys(settings.redis_prefix)
    try:
        if not client.exists(keys.stream):
            return {}
        consumers = client.xinfo_consumers(keys.stream, keys.group)
        return {c["name"].decode(): int(c["pending"]) for c in consumers}
    except redis.ResponseError:  # no group yet
        return {}
    finally:
        client.close()


def _wait_for(check: Any, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@contextlib.contextmanager
def _proxied(target: Target) -> Iterator[ElasticProxy]:
    """The test proxy in front of the engine, for either client (it injects the engine's faults)."""
    proxy = target.proxy or ElasticProxy(target.url).start()
    try:
        yield proxy
    finally:
        if target.proxy is None:
            proxy.stop()


def _a_page_and_its_original(settings: Any, seed: str) -> tuple[Any, Document, Document]:
    """Two stories indexed; the second comes back re-fetched, with a body the proxy can spot."""
    IndexAdmin(settings).init()
    writer = build_stream_writer(settings)
    original, page = make_docs(2, seed=seed)
    for doc in (original, page):
        writer.index(doc)
    load(settings)
    page.body = "The harbour council met again today; the second version of the story. " * 6
    return writer, original, page


def test_two_indexers_apply_one_documents_operations_in_the_order_they_were_written(
    target: Target, prefix: str, tmp_path: Path
) -> None:
    """Ops scale the indexers out; a cluster node slows down. One indexer's bulk request carrying
    a re-fetched page (its full document, again) hangs on the slow node while a second indexer
    reads the correction written after it (the page is a copy of another story). Before session
    21 the correction landed first and the late full document overwrote it: the copy came back
    as a story of its own in canonical-only search. Each document's operations must land in the
    order the workers wrote them, whichever indexer holds them."""
    with _proxied(target) as proxy:
        settings = engine_settings(tmp_path, Target(target.flavor, proxy.url, proxy), prefix, bulk_max_docs=1)
        writer, original, page = _a_page_and_its_original(settings, "order-")
        proxy.hold_bulks_with = b"the second version of the story"
        slow = indexer_process(settings, "slow", tmp_path / "slow.log")
        fast = None
        try:
            _wait_for(lambda: "slow" in _consumers(settings), "the first indexer never read the stream")
            writer.index(page)  # the re-fetched page: only the first indexer is reading
            _wait_for(lambda: _consumers(settings).get("slow") == 1, "the first indexer did not take it")
            fast = indexer_process(settings, "fast", tmp_path / "fast.log")
            _wait_for(lambda: "fast" in _consumers(settings), "the second indexer never read the stream")
            writer.update(page.id, {"duplicate_of": original.id})  # the first indexer is stuck
            time.sleep(2)  # the second indexer has read the correction by now
            proxy.release()
            assert slow.wait(60) == 0, (tmp_path / "slow.log").read_text()[-2000:]
            assert fast.wait(60) == 0, (tmp_path / "fast.log").read_text()[-2000:]
        finally:
            for process in (slow, fast):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait(10)
        index = refreshed(settings)
        stored = index.get(page.id)
        assert stored is not None
        assert "second version" in stored.body
        assert stored.duplicate_of == original.id, "the older full document overwrote the correction"
        assert index.count(include_duplicates=False) == 1
        assert counter(settings, "dead_lettered") == 0
        index.close()
        writer.close()


def test_an_indexer_cut_off_from_the_cluster_leaves_what_another_took_over_to_it(
    target: Target, prefix: str, tmp_path: Path
) -> None:
    """One indexer loses its route to the cluster while it holds a re-fetched page's full
    document; backing off longer than ``claim_idle_s``, it lets a second indexer take the entry
    over and apply it, then the correction written after it. When its route comes back, the first
    indexer must not send the full document too: landing last, it would overwrite the correction
    (the copy would be a story of its own again)."""
    cut_off = ElasticProxy(target.url).start()
    try:
        fast = engine_settings(tmp_path, target, prefix, claim_idle_s=1.0)
        slow = engine_settings(
            tmp_path, Target(target.flavor, cut_off.url, cut_off), prefix, retry_base_s=6.0, retry_max_s=6.0
        )
        writer, original, page = _a_page_and_its_original(fast, "cut-")
        processes = [indexer_process(slow, "cut-off", tmp_path / "cut-off.log")]
        try:
            _wait_for(lambda: "cut-off" in _consumers(slow), "the first indexer never read the stream")
            cut_off.refuse_connections()
            writer.index(page)  # only the first indexer is reading: it takes it, and cannot send it
            _wait_for(lambda: _consumers(slow).get("cut-off") == 1, "the first indexer did not take it")
            processes.append(indexer_process(fast, "fast", tmp_path / "fast.log", until_drained=False))
            index = build_index(fast)

            def applied(check: Any) -> Any:
                return lambda: index.refresh() or ((doc := index.get(page.id)) is not None and check(doc))

            _wait_for(applied(lambda d: "second version" in d.body), "the entry was not taken over", 15)
            writer.update(page.id, {"duplicate_of": original.id})
            _wait_for(applied(lambda d: d.duplicate_of == original.id), "the correction was not applied", 15)
            index.close()
            cut_off.accept_connections()
            assert processes[0].wait(30) == 0, (tmp_path / "cut-off.log").read_text()[-2000:]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
                    process.wait(10)
        index = refreshed(fast)
        stored = index.get(page.id)
        assert stored is not None and "second version" in stored.body
        assert stored.duplicate_of == original.id, (
            "the cut-off indexer's late full document overwrote the correction"
        )
        assert "entries_taken_over_by_another_indexer" in (tmp_path / "cut-off.log").read_text()
        assert index.count(include_duplicates=False) == 1
        index.close()
        writer.close()
    finally:
        cut_off.stop()


def test_an_operation_a_busy_node_rejects_goes_again_before_the_later_ones_on_its_document(
    target: Target, prefix: str, tmp_path: Path
) -> None:
    """A busy node rejects one operation of a bulk request (429) and applies the rest: the
    re-fetched page's full document is rejected, the correction written after it applied. Sent
    again alone, the full document would overwrite the correction (as before session 21); the
    document's later operations go again with it."""
    with _proxied(target) as proxy:
        settings = engine_settings(tmp_path, Target(target.flavor, proxy.url, proxy), prefix)
        writer, original, page = _a_page_and_its_original(settings, "busy-")
        writer.index(page)
        writer.update(page.id, {"duplicate_of": original.id})
        proxy.reject_once_operation_with = b"the second version of the story"
        stats = load(settings)
        assert proxy.reject_once_operation_with is None  # the rejection happened
        assert stats["retries"] >= 1
        index = refreshed(settings)
        stored = index.get(page.id)
        assert stored is not None and "second version" in stored.body
        assert stored.duplicate_of == original.id, "the full document sent again overwrote the correction"
        index.close()
        writer.close()


def test_a_cluster_that_refuses_our_credentials_stops_the_indexer_with_a_clear_error(
    prefix: str, tmp_path: Path
) -> None:
    """A cluster not up yet is waited for (test_faults.py); one that answers 401 to the flavour
    question is bad configuration, which waiting cannot fix: the indexer exits non-zero naming it."""
    import http.server

    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="security"')
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = Target("auto", f"http://127.0.0.1:{server.server_address[1]}")
        settings = engine_settings(tmp_path, target, prefix)
        done = run_cli(settings, "indexer", "--name", "x")
    finally:
        server.shutdown()
    assert done.returncode != 0
    assert "401" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]


def _fold_docs() -> tuple[Document, Document]:
    zurich, muller = make_docs(2, seed="fold-")
    zurich.title = "Zürich votes on the new tram line"
    zurich.body = "Voters in Zürich approved the tram line on Sunday. " * 5
    muller.title = "Thomas Müller ends his career"
    muller.body = "Müller played 700 games for his club and his country. " * 5
    muller.authors = ["Renée Jöns"]
    return zurich, muller


def _assert_found_without_accents(index: Any, zurich: Document, muller: Document) -> None:
    for text, doc in (
        ("zurich tram", zurich),
        ("ZÜRICH", zurich),
        ("Zurich", zurich),
        ("muller career", muller),
        ("renee jons", muller),
    ):
        assert [h.document.id for h in index.search(SearchQuery(text=text))] == [doc.id], text


def test_words_are_found_with_or_without_their_accents_in_both_modes(
    target: Target, prefix: str, tmp_path: Path
) -> None:
    """A reader types "zurich" for Zürich and "muller" for Müller: the embedded index (FTS5's
    unicode61 folding) found them, the engine's standard analyzer did not, so one query gave two
    answers in the two modes. The mapping folds accents (asciifolding) in the text fields."""
    zurich, muller = _fold_docs()
    embedded = build_index(make_settings(tmp_path / "embedded"))
    for doc in (zurich, muller):
        embedded.upsert(doc)
    _assert_found_without_accents(embedded, zurich, muller)
    embedded.close()

    settings = engine_settings(tmp_path, target, prefix)
    IndexAdmin(settings).init()
    writer = build_stream_writer(settings)
    for doc in (zurich, muller):
        writer.index(doc)
    load(settings)
    index = refreshed(settings)
    _assert_found_without_accents(index, zurich, muller)
    index.close()
    writer.close()


def test_an_index_made_before_the_folding_mapping_is_brought_up_to_it_by_reindex(
    target: Target, prefix: str, tmp_path: Path
) -> None:
    """Upgrading newscrawl over a cluster whose index has mapping 1 (no folding): the indexer
    loads on into it, `newscrawl index status` says the mapping is behind the code, and
    `newscrawl index reindex` brings it up: "zurich" then finds Zürich."""
    from indexer.mapping import PROPERTIES

    settings = engine_settings(tmp_path, target, prefix)
    admin = IndexAdmin(settings)
    old_properties = {
        name: {k: v for k, v in field.items() if k != "analyzer"} for name, field in PROPERTIES.items()
    }
    admin.client.request(
        "PUT",
        f"/{prefix}-v1",
        {
            "mappings": {"dynamic": "strict", "properties": old_properties, "_meta": {"version": 1}},
            "aliases": {admin.read_alias: {}, admin.write_alias: {"is_write_index": True}},
        },
    )
    zurich, muller = _fold_docs()
    writer = build_stream_writer(settings)
    for doc in (zurich, muller):
        writer.index(doc)
    load(settings)
    index = refreshed(settings)
    assert index.search(SearchQuery(text="zurich tram")) == []  # the old mapping, as before
    status = run_cli(settings, "index", "status")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["mapping_version"] == 1
    assert json.loads(status.stdout)["code_mapping_version"] == MAPPING_VERSION == 2
    reindexed = run_cli(settings, "index", "reindex")
    assert reindexed.returncode == 0, reindexed.stderr
    upgraded = refreshed(settings)
    _assert_found_without_accents(upgraded, zurich, muller)
    upgraded.close()
    index.close()
    writer.close()
