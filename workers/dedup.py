"""The dedup stage: decides whether a document is a new story or another appearance of one.

Now: URL-level deduplication (normalised and canonical URLs map to one id). The content
deduplicator (repeated blocks, exact and near-duplicate bodies) plugs in behind the same
:class:`DedupStage` interface and keeps its state in the same :class:`DedupStore`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from indexer.document import Document
from workers.fingerprint import content_hash, simhash_hex
from workers.links import Teaser


@dataclass(frozen=True)
class DedupDecision:
    # index: write the document; alias: the story is already indexed under ``doc_id`` (seen at a
    # different URL with the same canonical URL), so only record the URL on it.
    action: Literal["index", "alias"]
    doc_id: str


class DedupStore(Protocol):
    def claim_url(self, doc_id: str, url: str) -> str:
        """Atomically make ``url`` the first appearance of ``doc_id`` unless one exists; return the first."""

    def record_teasers(self, host: str, teasers: list[Teaser]) -> None:
        """Remember the teaser blocks a listing page of ``host`` carries."""

    def teaser_pages(self, block_hash: str) -> int:
        """On how many distinct pages a teaser block was seen."""

    def stats(self) -> dict[str, int]: ...

    def close(self) -> None: ...


class DedupStage(Protocol):
    def process(self, document: Document) -> DedupDecision: ...


class URLDeduplicator:
    """Fills the fingerprints and collapses URLs that share a canonical URL."""

    def __init__(self, store: DedupStore) -> None:
        self._store = store

    def process(self, document: Document) -> DedupDecision:
        document.content_hash = content_hash(document.body)
        document.simhash = simhash_hex(document.body)
        first = self._store.claim_url(document.id, document.url)
        return DedupDecision("index" if first == document.url else "alias", document.id)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS url_claims (doc_id TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS teasers (
    block_hash TEXT NOT NULL, host TEXT NOT NULL, page_url TEXT NOT NULL,
    article_url TEXT NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY (block_hash, page_url)
);
CREATE INDEX IF NOT EXISTS teasers_article ON teasers (article_url);
"""


class SQLiteDedupStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def claim_url(self, doc_id: str, url: str) -> str:
        # INSERT OR IGNORE then read: one atomic claim, whoever comes first wins.
        self._db.execute("INSERT OR IGNORE INTO url_claims (doc_id, url) VALUES (?, ?)", (doc_id, url))
        return str(self._db.execute("SELECT url FROM url_claims WHERE doc_id=?", (doc_id,)).fetchone()[0])

    def record_teasers(self, host: str, teasers: list[Teaser]) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO teasers (block_hash, host, page_url, article_url, text)"
            " VALUES (?,?,?,?,?)",
            [(t.block_hash, host, t.page_url, t.article_url, t.text) for t in teasers],
        )

    def teaser_pages(self, block_hash: str) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM teasers WHERE block_hash=?", (block_hash,)).fetchone()
        return int(row[0])

    def stats(self) -> dict[str, int]:
        claims = self._db.execute("SELECT COUNT(*) FROM url_claims").fetchone()[0]
        teasers = self._db.execute("SELECT COUNT(DISTINCT block_hash) FROM teasers").fetchone()[0]
        return {"stories": int(claims), "teaser_blocks": int(teasers)}

    def close(self) -> None:
        self._db.close()
