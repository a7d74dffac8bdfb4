"""Deduplicator benchmark; prints JSON.

- CPU microseconds per document for the whole dedup stage (``ContentDeduplicator.process`` with its
  SQLite store), over the corpora's article pages plus, for each, a verbatim copy on another host
  and an edited copy (paragraph dropped), processed in a shuffled order;
- lookups per second of the near-duplicate (simhash band) index with 1,000,000 stored fingerprints;
- bytes per document in the store (file size after the run, divided by documents).

Usage: python bench/dedup.py [--fingerprints N]
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        report = {"stage": stage_cost(tmp), "near_duplicate_index": band_lookups(tmp, args.fingerprints)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
