"""Deduplicator benchmark; prints JSON.

- CPU microseconds per document for the whole dedup stage (``ContentDeduplicator.process`` with its
  SQLite store), over the corpora's article pages plus, for each, a verbatim copy on another host
  and an edited copy (paragraph dropped), processed in a shuffled order;
- the same with the Redis store (``--redis URL``, default the settings' ``redis_url``; left out
  when no Redis answers there): the requests the process sent to Redis per document (a pipeline
  is one; each is paid under the global decision lock) and redis-server's CPU per document;
- lookups per second of the near-duplicate (simhash band) index with 1,000,000 stored fingerprints;
- bytes per document in the store (file size after the run, divided by documents).

Usage: python bench/dedup.py [--fingerprints N] [--redis URL]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newscrawl.app.factory import build_dedup_stage, build_dedup_store  # noqa: E402
from newscrawl.core.document import Document, doc_id  # noqa: E402
from newscrawl.core.errors import NewscrawlError  # noqa: E402
from newscrawl.core.settings import load_settings  # noqa: E402
from newscrawl.core.urls import host_of  # noqa: E402
from tests.conftest import corpora_path  # noqa: E402
from tests.replay import load_corpus_pages  # noqa: E402
from workers.charset import decode_body  # noqa: E402
from workers.dedup import bands_of  # noqa: E402
from workers.dedup_sqlite import SQLiteDedupStore  # noqa: E402
from workers.extract import extract_article  # noqa: E402
from workers.parse import parse_html  # noqa: E402


def document(url: str, title: str, body: str, at: datetime | None = None) -> Document:
    """A page as the dedup stage sees it, published and fetched ``at`` (now by default)."""
    now = at or datetime.now(UTC)
    return Document(
        id=doc_id(url),
        url=url,
        canonical_url=url,
        outlet=None,
        host=host_of(url),
        title=title,
        body=body,
        published_at=now,
        first_seen_at=now,
        fetched_at=now,
    )


def corpus_documents() -> list[Document]:
    docs = []
    for url, page in sorted(load_corpus_pages(corpora_path()).items()):
        html = gzip.decompress(Path(page.source).read_bytes())
        text, _ = decode_body(html, None, url)
        try:
            article = extract_article(parse_html(text, url))
        except NewscrawlError:
            continue  # a page without text is not a dedup input
        title = article.title or ""
        docs.append(document(url, title, article.body))
        paragraphs = article.body.split("\n")
        docs.append(document(url.replace("://", "://copy.wire.example/", 1), title, article.body))
        if len(paragraphs) > 3:
            del paragraphs[len(paragraphs) // 2]
        docs.append(
            document(url.replace("://", "://edited.example/", 1), "Update: " + title, "\n".join(paragraphs))
        )
    return docs


def stage_cost(tmp: Path) -> dict[str, float]:
    settings = load_settings(data_dir=tmp / "stage")
    store = build_dedup_store(settings)
    stage = build_dedup_stage(settings, store)
    docs = corpus_documents()
    random.Random(1).shuffle(docs)
    start = time.process_time()
    for doc in docs:
        stage.process(doc)
    cpu = time.process_time() - start
    found = store.stats()
    store.close()
    size = (tmp / "stage" / "dedup.sqlite").stat().st_size + sum(
        p.stat().st_size for p in (tmp / "stage").glob("dedup.sqlite-*")
    )
    return {
        "documents": len(docs),
        "expected_duplicates": len(docs) // 3 * 2,
        "store": found,
        "cpu_us_per_document": round(1e6 * cpu / len(docs), 1),
        "store_bytes_per_document": round(size / len(docs)),
    }


class _RoundTrips:
    """Counts the requests redis-py sends (a pipeline is one request)."""

    def __init__(self) -> None:
        import redis.connection

        self.count = 0
        self._class = redis.connection.AbstractConnection
        self._send = self._class.send_packed_command

        def counted(connection: Any, *args: Any, **kwargs: Any) -> None:
            self.count += 1
            self._send(connection, *args, **kwargs)

        self._class.send_packed_command = counted  # type: ignore[method-assign]

    def close(self) -> None:
        self._class.send_packed_command = self._send  # type: ignore[method-assign]


class _LockHeld:
    """Wall time between taking the Redis decision lock and releasing it."""

    def __init__(self) -> None:
        from workers.dedup_redis import _DecisionLock

        self.seconds = 0.0
        self._class = _DecisionLock
        self._begin, self._end = _DecisionLock._begin, _DecisionLock._end
        taken: list[float] = []

        def begin(lock: Any) -> Any:
            token = self._begin(lock)
            taken.append(time.perf_counter())
            return token

        def end(lock: Any, token: Any, *, ok: bool) -> None:
            self._end(lock, token, ok=ok)
            self.seconds += time.perf_counter() - taken.pop()

        _DecisionLock._begin = begin  # type: ignore[method-assign]
        _DecisionLock._end = end  # type: ignore[method-assign]

    def close(self) -> None:
        self._class._begin = self._begin  # type: ignore[method-assign]
        self._class._end = self._end  # type: ignore[method-assign]


def redis_stage_cost(tmp: Path, url: str) -> dict[str, Any]:
    """The stage over the same documents with the Redis store, on a key prefix of its own."""
    import uuid

    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        return {"skipped": f"no Redis at {url}: {exc}"}
    prefix = f"bench-dedup-{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        data_dir=tmp / "redis", dedup={"backend": "redis"}, redis_url=url, redis_prefix=prefix
    )
    store = build_dedup_store(settings)
    stage = build_dedup_stage(settings, store)
    docs = corpus_documents()
    random.Random(1).shuffle(docs)
    stage.process(document("http://warm.example/up", "", "scripts loaded, connection open"))

    def server_cpu() -> float:
        info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    trips = _RoundTrips()
    held = _LockHeld()
    server0, start = server_cpu(), time.process_time()
    try:
        for doc in docs:
            prepared = stage.prepare(doc)
            with stage.decision():  # as a worker takes it
                stage.process(doc, prepared)
        cpu = time.process_time() - start
    finally:
        trips.close()
        held.close()
    server = server_cpu() - server0
    found = store.stats()
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)
    client.close()
    return {
        "documents": len(docs),
        "store": found,
        "round_trips_per_document": round(trips.count / len(docs), 2),
        "cpu_us_per_document": round(1e6 * cpu / len(docs), 1),
        "redis_server_cpu_us_per_document": round(1e6 * server / len(docs), 1),
        # Every worker waits while one holds the decision lock: this bounds the whole cluster.
        "lock_held_us_per_document": round(1e6 * held.seconds / len(docs), 1),
    }


def band_lookups(tmp: Path, count: int) -> dict[str, float]:
    settings = load_settings().dedup
    store = SQLiteDedupStore.open(tmp / "bands" / "dedup.sqlite")
    rng = random.Random(7)
    values = [rng.getrandbits(64) for _ in range(count)]
    start = time.monotonic()
    with store.transaction():
        for i, value in enumerate(values):
            store.set_fingerprints(f"d{i}", f"h{i}", bands_of(value, settings.simhash_max_distance))
    load_s = time.monotonic() - start
    queries = []
    for i in range(20_000):
        value = values[rng.randrange(count)] if i % 2 else rng.getrandbits(64)
        for _ in range(rng.randint(0, settings.simhash_max_distance)):  # a near neighbour
            value ^= 1 << rng.randrange(64)
        queries.append(value)
    found = 0
    start = time.monotonic()
    for value in queries:
        found += bool(store.candidates("", bands_of(value, settings.simhash_max_distance), ())[0])
    elapsed = time.monotonic() - start
    store.close()
    return {
        "stored_fingerprints": count,
        "load_s": round(load_s, 1),
        "queries": len(queries),
        "lookups_per_s": round(len(queries) / elapsed),
        "queries_with_candidates": found,
        "buckets_per_lookup": settings.simhash_max_distance + 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fingerprints", type=int, default=1_000_000)
    parser.add_argument(
        "--redis", default=load_settings().redis_url, help="Redis for the Redis store's figures"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        report = {
            "stage": stage_cost(tmp),
            "stage_redis": redis_stage_cost(tmp, args.redis),
            "near_duplicate_index": band_lookups(tmp, args.fingerprints),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
