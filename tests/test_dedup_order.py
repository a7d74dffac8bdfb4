"""Two workers' dedup decisions reach the index in the order they were made.

Worker A decides that a copy joins a story and is slow to write that down; worker B, meanwhile,
adds a second copy to the same story. B's later, fuller correction must not be overwritten by A's
stale one (the race a two-worker crawl showed as a canonical article missing one of its copies).
Two lease handlers in two threads, built by the production factory, share the dedup store and
the index; the index is the real SQLite index with a hook that stalls A's first correction.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from indexer.sqlite import SQLiteIndex
from newscrawl.app.factory import build_components
from newscrawl.core.document import Document
from newscrawl.core.errors import IndexBackendError
from newscrawl.core.records import Lease
from newscrawl.core.settings import Settings
from tests.conftest import SettingsFactory
from workers.fetch import FetchResponse
from workers.handler import LeaseHandler

PARAGRAPHS = "".join(
    f"<p>Paragraph {n} of the harbour story: the council voted on the {w} budget after a long "
    f"debate about ferries, tunnels and the future of the old {w} district near the river.</p>"
    for n, w in enumerate(["north", "south", "east", "west", "central", "upper"])
)
ORIGINAL = "http://herald.example/2026/05/01/harbour-budget"
COPIES = {"A": "http://wire.example/2026/05/01/harbour", "B": "http://daily.example/2026/05/01/harbour"}


def _page(url: str, published: str) -> bytes:
    return (
        "<html><head><title>Harbour budget passes</title>"
        f'<meta property="og:type" content="article"><link rel="canonical" href="{url}">'
        f'<meta property="article:published_time" content="{published}"></head><body>'
        f"<article><h1>Harbour budget passes</h1>{PARAGRAPHS}</article></body></html>"
    ).encode()


class StallingIndex(SQLiteIndex):
    """Worker A's first correction waits (up to a bound) until worker B has written its own."""

    a_stalled = threading.Event()
    b_wrote = threading.Event()

    @classmethod
    def from_settings(cls, settings: Settings, stores: Any) -> StallingIndex:
        return cls(stores.sqlite("index.sqlite"))

    def update(self, doc_id: str, fields: dict[str, Any]) -> None:
        worker = threading.current_thread().name
        if worker == "A" and "also_seen_at" in fields and not self.a_stalled.is_set():
            self.a_stalled.set()
            self.b_wrote.wait(timeout=2.0)
        super().update(doc_id, fields)
        if worker == "B" and "also_seen_at" in fields:
            self.b_wrote.set()


def _settle(settings: Settings, url: str, published: str) -> None:
    components = build_components(settings, [])
    try:
        handler = LeaseHandler(components.handler_parts())
        lease = Lease(url=url, host=url.split("/")[2], kind="article", outlet=None, depth=1)
        body = _page(url, published)
        response = FetchResponse(
            url=url,
            final_url=url,
            status=200,
            headers={"content-type": "text/html; charset=utf-8"},
            body=body,
            text=body.decode(),
            encoding="utf-8",
        )
        handler.settle(lease, response)
    finally:
        components.close()


def _race(settings: Settings, a_is_writing: threading.Event) -> dict[str, Document]:
    """The story indexed, then worker A settles one copy and, once A is writing its
    corrections, worker B another; the index's documents by URL at the end."""
    _settle(settings, ORIGINAL, "2026-05-01T08:00:00Z")
    a = threading.Thread(target=_settle, args=(settings, COPIES["A"], "2026-05-01T09:00:00Z"), name="A")
    b = threading.Thread(target=_settle, args=(settings, COPIES["B"], "2026-05-01T10:00:00Z"), name="B")
    a.start()
    assert a_is_writing.wait(timeout=30)
    b.start()
    a.join(timeout=60)
    b.join(timeout=60)
    return {d.url: d for d in build_components(settings, []).index.export()}


def test_a_slow_workers_stale_correction_does_not_overwrite_a_later_one(
    backend_settings: SettingsFactory, tmp_path: Path
) -> None:
    StallingIndex.a_stalled.clear()
    StallingIndex.b_wrote.clear()
    settings = backend_settings(index={"backend": "tests.test_dedup_order:StallingIndex"})
    docs = _race(settings, StallingIndex.a_stalled)
    assert set(docs) == {ORIGINAL, *COPIES.values()}
    story = docs[ORIGINAL]
    assert story.duplicate_of is None
    assert sorted(story.also_seen_at) == sorted(COPIES.values())
    assert all(docs[url].duplicate_of == story.id for url in COPIES.values())


class OutageIndex(SQLiteIndex):
    """Worker A's index is away for a few seconds from its first correction on (worker B's is
    not): A waits the outage out inside its decision, for longer than the lock's expiry."""

    outage_s = 3.0
    a_waiting = threading.Event()
    _ends_at: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings, stores: Any) -> OutageIndex:
        return cls(stores.sqlite("index.sqlite"))

    def update(self, doc_id: str, fields: dict[str, Any]) -> None:
        if threading.current_thread().name == "A" and "also_seen_at" in fields:
            if OutageIndex._ends_at is None:
                OutageIndex._ends_at = time.monotonic() + self.outage_s
                self.a_waiting.set()
            if time.monotonic() < OutageIndex._ends_at:
                raise IndexBackendError("injected: index unreachable")
        super().update(doc_id, fields)


def test_a_worker_waiting_out_an_index_outage_keeps_its_decision_lock(
    backend_settings: SettingsFactory, tmp_path: Path
) -> None:
    """The Redis decision lock expires after ``dedup.lock_ttl_ms`` (here 1 s) so that a dead
    holder cannot stall the cluster; a live holder waiting for the index keeps renewing it, so
    worker B decides only after A's corrections are written."""
    OutageIndex.a_waiting.clear()
    OutageIndex._ends_at = None
    settings = backend_settings(
        index={"backend": "tests.test_dedup_order:OutageIndex"}, dedup={"lock_ttl_ms": 1000}
    )
    docs = _race(settings, OutageIndex.a_waiting)
    story = docs[ORIGINAL]
    assert sorted(story.also_seen_at) == sorted(COPIES.values())
    assert all(docs[url].duplicate_of == story.id for url in COPIES.values())
