"""The deduplicator on the replay web with duplicate groups known by construction."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from newscrawl.app.engine import CrawlEngine
from newscrawl.app.factory import build_components
from newscrawl.core.document import Document
from scheduler.outlets import parse_outlets
from tests.conftest import REDIS_URL, drop_redis_prefix, make_settings, redis_available
from tests.dedup_web import DedupWeb


@dataclass
class Index:
    docs: dict[str, Document]

    def cluster_of_url(self) -> dict[str, str]:
        """Every page URL -> the id of the story it was collapsed into."""
        owner: dict[str, str] = {}
        for doc in self.docs.values():
            owner[doc.url] = doc.id
        for doc in self.docs.values():
            if doc.duplicate_of is not None:
                for url in doc.also_seen_at:
                    owner.setdefault(url, doc.id)
        for doc in self.docs.values():
            for url in doc.also_seen_at:
                owner.setdefault(url, doc.id)
        return {url: self.docs[d].duplicate_of or d for url, d in owner.items()}


def crawl_in_order(web: DedupWeb, data: Path, order: tuple[str, str], **overrides: object) -> Index:
    settings = make_settings(
        data, fetch={"proxy": web.web.proxy_url}, politeness={"min_delay_ms": 20}, **overrides
    )
    for toml in order:
        components = build_components(settings, parse_outlets(toml))
        asyncio.run(CrawlEngine(components).run(until_idle=True))
        components.close()
    components = build_components(settings, [])
    docs = {d.id: d for d in components.index.export()}
    components.close()
    return Index(docs)


# The Redis store's crawls are slow (its twin in the default run: the SQLite store's, and
# test_crawl_replay.py::test_shared_backends_give_the_same_index, which holds the two stores alike).
@pytest.fixture(scope="module", params=["sqlite", pytest.param("redis", marks=pytest.mark.slow)])
def runs(
    request: pytest.FixtureRequest, dedup_web: DedupWeb, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Index, Index]]:
    """The dedup web crawled in two orders, with the dedup store of each backend."""
    backend = request.param
    if backend == "redis" and not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    prefix = f"nctest-{uuid.uuid4().hex[:12]}"
    orders = {
        "ab": (dedup_web.outlets_first, dedup_web.outlets_second),
        "ba": (dedup_web.outlets_second, dedup_web.outlets_first),
    }
    first, second = (
        crawl_in_order(
            dedup_web,
            tmp_path_factory.mktemp(name),
            order,
            dedup={"backend": backend},
            redis_url=REDIS_URL,
            redis_prefix=f"{prefix}-{name}",
        )
        for name, order in orders.items()
    )
    yield first, second
    if backend == "redis":
        drop_redis_prefix(f"{prefix}-")


def pair_scores(
    truth: dict[str, str], predicted: dict[str, str]
) -> tuple[float, float, list[tuple[str, str]]]:
    urls = sorted(u for u in truth if u in predicted)
    tp = fp = fn = 0
    wrong: list[tuple[str, str]] = []
    for a, b in itertools.combinations(urls, 2):
        same_truth = truth[a] == truth[b]
        same_pred = predicted[a] == predicted[b]
        tp += same_truth and same_pred
        fp += same_pred and not same_truth
        fn += same_truth and not same_pred
        if same_pred and not same_truth:
            wrong.append((a, b))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, wrong


def test_pairwise_precision_and_recall(runs: tuple[Index, Index], dedup_web: DedupWeb) -> None:
    for index in runs:
        predicted = index.cluster_of_url()
        missing = [u for u in dedup_web.groups if u not in predicted]
        assert len(missing) <= 2, missing  # a client-rendered page may have no text (extraction error)
        precision, recall, wrong = pair_scores(dedup_web.groups, predicted)
        assert precision >= 0.99, wrong[:5]
        assert recall >= 0.95, recall
        assert not wrong, f"distinct stories merged: {wrong[:5]}"


def test_no_related_block_text_in_bodies(runs: tuple[Index, Index], dedup_web: DedupWeb) -> None:
    for index in runs:
        by_url = {d.url: d for d in index.docs.values()}
        canonical_of = index.cluster_of_url()
        for url, paragraphs in dedup_web.related.items():
            bodies = [index.docs[canonical_of[url]].body]
            if url in by_url:
                bodies.append(by_url[url].body)
            for body in bodies:
                leaked = [p for p in paragraphs if p in body]
                assert not leaked, (url, leaked[:1])


def test_repeated_wire_note_is_stripped(runs: tuple[Index, Index]) -> None:
    for index in runs:
        assert not [d.url for d in index.docs.values() if "Reproduction without a licence" in d.body]


def test_same_index_in_any_crawl_order(runs: tuple[Index, Index]) -> None:
    first, second = runs
    assert sorted(first.docs) == sorted(second.docs)
    canon = [{i for i, d in run.docs.items() if d.duplicate_of is None} for run in runs]
    assert canon[0] == canon[1]
    for doc_id, doc in first.docs.items():
        other = second.docs[doc_id]
        assert (doc.duplicate_of, doc.body, doc.content_hash, doc.simhash, doc.url) == (
            other.duplicate_of,
            other.body,
            other.content_hash,
            other.simhash,
            other.url,
        ), doc.url
        assert sorted(doc.also_seen_at) == sorted(other.also_seen_at), doc.url


def test_originals_are_canonical(runs: tuple[Index, Index], dedup_web: DedupWeb) -> None:
    for index in runs:
        predicted = index.cluster_of_url()
        for url, group in dedup_web.groups.items():
            if group.startswith("story-") and "//origin-" in url:
                assert index.docs[predicted[url]].url == url
