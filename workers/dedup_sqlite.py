"""The embedded store of the deduplicator: one SQLite file, one transaction per decision.

``BEGIN IMMEDIATE`` makes each decision atomic against other processes on the same file, so two
workers cannot both index the same story as canonical.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from newscrawl.core.connections import SQLiteTransaction, open_sqlite
from workers.dedup import STORED_DOC_FIELDS, StoredDoc, decode_doc, encode_doc

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY, url TEXT NOT NULL, canonical_url TEXT NOT NULL, host TEXT NOT NULL,
    published_ts REAL, blocks BLOB NOT NULL, block_hashes TEXT NOT NULL, kept TEXT NOT NULL,
    content_hash TEXT NOT NULL, simhash TEXT NOT NULL, votes INTEGER NOT NULL, duplicate_of TEXT,
    title TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (doc_id TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (doc_id, url))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS block_pages (host TEXT NOT NULL, block TEXT NOT NULL, page_url TEXT NOT NULL,
    PRIMARY KEY (host, block, page_url)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS boilerplate (host TEXT NOT NULL, block TEXT NOT NULL, PRIMARY KEY (host, block))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS headlines (host TEXT NOT NULL, block TEXT NOT NULL, article_url TEXT NOT NULL,
    PRIMARY KEY (host, block, article_url)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS doc_blocks (block TEXT NOT NULL, doc_id TEXT NOT NULL, host TEXT NOT NULL,
    PRIMARY KEY (block, doc_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_blocks_doc ON doc_blocks (doc_id);
CREATE TABLE IF NOT EXISTS content (content_hash TEXT NOT NULL, doc_id TEXT NOT NULL,
    PRIMARY KEY (content_hash, doc_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS content_doc ON content (doc_id);
CREATE TABLE IF NOT EXISTS bands (band INTEGER NOT NULL, value INTEGER NOT NULL, doc_id TEXT NOT NULL,
    PRIMARY KEY (band, value, doc_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bands_doc ON bands (doc_id);
CREATE TABLE IF NOT EXISTS edges (a TEXT NOT NULL, b TEXT NOT NULL, PRIMARY KEY (a, b)) WITHOUT ROWID;
"""


_CHUNK = 500  # well below SQLite's limit on bound parameters


def _chunks(values: Iterable[str]) -> Iterator[tuple[list[str], str]]:
    """Sorted distinct values in chunks, each with its "?,?,..." placeholders for an IN (...)."""
    wanted = sorted(set(values))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        yield chunk, ",".join("?" * len(chunk))


_DOC_COLUMNS = ", ".join(("doc_id", *STORED_DOC_FIELDS))
_DOC_PARAMS = ", ".join(f":{name}" for name in ("doc_id", *STORED_DOC_FIELDS))


class SQLiteDedupStore:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._db.executescript(_SCHEMA)
        self._transaction = SQLiteTransaction(db)

    @classmethod
    def open(cls, path: Path) -> SQLiteDedupStore:
        return cls(open_sqlite(path, named_rows=False))

    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction

    def keep_alive(self) -> None:
        """A SQLite transaction does not expire."""

    # --- documents --------------------------------------------------------------------------

    def get_doc(self, doc_id: str) -> StoredDoc | None:
        row = self._db.execute(f"SELECT {_DOC_COLUMNS} FROM docs WHERE doc_id=?", (doc_id,)).fetchone()
        return (
            decode_doc(doc_id, dict(zip(("doc_id", *STORED_DOC_FIELDS), row, strict=True))) if row else None
        )

    def put_doc(self, doc: StoredDoc) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO docs ({_DOC_COLUMNS}) VALUES ({_DOC_PARAMS})",
            # Absent values are NULL here: the queries above test "duplicate_of IS NULL".
            {
                **encode_doc(doc),
                "doc_id": doc.doc_id,
                "duplicate_of": doc.duplicate_of,
                "published_ts": doc.published_ts,
            },
        )

    def add_alias(self, doc_id: str, url: str) -> bool:
        cur = self._db.execute("INSERT OR IGNORE INTO aliases VALUES (?, ?)", (doc_id, url))
        return cur.rowcount > 0

    def aliases(self, doc_id: str) -> list[str]:
        return [
            r[0] for r in self._db.execute("SELECT url FROM aliases WHERE doc_id=? ORDER BY url", (doc_id,))
        ]

    # --- blocks -----------------------------------------------------------------------------

    def add_block_pages(self, host: str, blocks: Iterable[str], page_url: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for chunk, marks in _chunks(blocks):
            known = {
                r[0]
                for r in self._db.execute(
                    f"SELECT block FROM block_pages WHERE host=? AND page_url=? AND block IN ({marks})",
                    (host, page_url, *chunk),
                )
            }
            new = [b for b in chunk if b not in known]
            if not new:
                continue
            self._db.executemany("INSERT INTO block_pages VALUES (?,?,?)", [(host, b, page_url) for b in new])
            marks = ",".join("?" * len(new))
            counts.update(
                self._db.execute(
                    f"SELECT block, COUNT(*) FROM block_pages WHERE host=? AND block IN ({marks})"
                    " GROUP BY block",
                    (host, *new),
                ).fetchall()
            )
        return counts

    def mark_boilerplate(self, host: str, block: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO boilerplate VALUES (?, ?)", (host, block))

    def boilerplate(self, host: str, blocks: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk, marks in _chunks(blocks):
            found |= {
                r[0]
                for r in self._db.execute(
                    f"SELECT block FROM boilerplate WHERE host=? AND block IN ({marks})", (host, *chunk)
                )
            }
        return found

    def add_headline(self, host: str, block: str, article_url: str) -> bool:
        cur = self._db.execute("INSERT OR IGNORE INTO headlines VALUES (?,?,?)", (host, block, article_url))
        return cur.rowcount > 0

    def headlines(self, host: str, blocks: Iterable[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for chunk, marks in _chunks(blocks):
            for block, url in self._db.execute(
                f"SELECT block, article_url FROM headlines WHERE host=? AND block IN ({marks})",
                (host, *chunk),
            ):
                found.setdefault(block, set()).add(url)
        return found

    def set_doc_blocks(self, doc_id: str, host: str, blocks: Iterable[str]) -> None:
        self._db.execute("DELETE FROM doc_blocks WHERE doc_id=?", (doc_id,))
        self._db.executemany(
            "INSERT OR IGNORE INTO doc_blocks VALUES (?,?,?)", [(b, doc_id, host) for b in blocks]
        )

    def docs_with_blocks(self, blocks: Iterable[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for chunk, marks in _chunks(blocks):
            for block, doc_id in self._db.execute(
                f"SELECT block, doc_id FROM doc_blocks WHERE block IN ({marks})", chunk
            ):
                found.setdefault(block, []).append(doc_id)
        return found

    def docs_with_block(self, host: str, block: str) -> list[str]:
        rows = self._db.execute("SELECT doc_id FROM doc_blocks WHERE block=? AND host=?", (block, host))
        return [r[0] for r in rows]

    # --- fingerprints and links -------------------------------------------------------------

    def set_fingerprints(self, doc_id: str, content: str, bands: list[tuple[int, int]]) -> None:
        self._db.execute("DELETE FROM content WHERE doc_id=?", (doc_id,))
        self._db.execute("INSERT OR IGNORE INTO content VALUES (?, ?)", (content, doc_id))
        self._db.execute("DELETE FROM bands WHERE doc_id=?", (doc_id,))
        self._db.executemany("INSERT OR IGNORE INTO bands VALUES (?,?,?)", [(b, v, doc_id) for b, v in bands])

    def docs_with_content(self, content: str) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT doc_id FROM content WHERE content_hash=?", (content,))]

    def docs_in_bands(self, bands: list[tuple[int, int]]) -> list[str]:
        found: set[str] = set()
        for band, value in bands:
            found |= {
                r[0]
                for r in self._db.execute("SELECT doc_id FROM bands WHERE band=? AND value=?", (band, value))
            }
        return sorted(found)

    def neighbours(self, doc_id: str) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT b FROM edges WHERE a=?", (doc_id,))}

    def set_neighbours(self, doc_id: str, neighbours: set[str]) -> None:
        for old in self.neighbours(doc_id) - neighbours:
            self._db.execute(
                "DELETE FROM edges WHERE (a=? AND b=?) OR (a=? AND b=?)", (doc_id, old, old, doc_id)
            )
        for new in neighbours:
            self._db.execute("INSERT OR IGNORE INTO edges VALUES (?, ?), (?, ?)", (doc_id, new, new, doc_id))

    def stats(self) -> dict[str, int]:
        def count(sql: str) -> int:
            return int(self._db.execute(sql).fetchone()[0])

        return {
            "stories": count("SELECT COUNT(*) FROM docs WHERE duplicate_of IS NULL"),
            "duplicates": count("SELECT COUNT(*) FROM docs WHERE duplicate_of IS NOT NULL"),
            "url_aliases": count("SELECT COUNT(*) FROM aliases"),
            "boilerplate_blocks": count("SELECT COUNT(*) FROM boilerplate"),
            "teaser_headlines": count("SELECT COUNT(DISTINCT block) FROM headlines"),
        }

    def close(self) -> None:
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
