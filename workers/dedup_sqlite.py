"""The embedded store of the deduplicator: one SQLite file, one transaction per decision.

``BEGIN IMMEDIATE`` makes each decision atomic against other processes on the same file, so two
workers cannot both index the same story as canonical.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from newscrawl.core.connections import SQLiteTransaction, open_sqlite
from workers.dedup import STORED_DOC_FIELDS, StoredDoc, decode_doc, encode_doc

# Pages (by a hash of their URL) that carry a block, with when each was last seen.
_BLOCK_PAGES = """CREATE TABLE IF NOT EXISTS block_pages (host TEXT NOT NULL, block TEXT NOT NULL,
    page_url TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (host, block, page_url)) WITHOUT ROWID"""
# Articles teased under a headline block on a host's listing pages, with when last seen teased.
_HEADLINES = """CREATE TABLE IF NOT EXISTS headlines (host TEXT NOT NULL, block TEXT NOT NULL,
    article_url TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (host, block, article_url)) WITHOUT ROWID"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY, url TEXT NOT NULL, canonical_url TEXT NOT NULL, host TEXT NOT NULL,
    published_ts REAL, blocks BLOB NOT NULL, block_hashes TEXT NOT NULL, kept TEXT NOT NULL,
    content_hash TEXT NOT NULL, simhash TEXT NOT NULL, votes INTEGER NOT NULL, duplicate_of TEXT,
    title TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (doc_id TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (doc_id, url))
    WITHOUT ROWID;
{_BLOCK_PAGES};
CREATE TABLE IF NOT EXISTS boilerplate (host TEXT NOT NULL, block TEXT NOT NULL, PRIMARY KEY (host, block))
    WITHOUT ROWID;
{_HEADLINES};
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
CREATE TABLE IF NOT EXISTS doc_seen (doc_id TEXT PRIMARY KEY, ts REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_seen_ts ON doc_seen (ts);
"""
# After the schema: indexes on columns a store written by an earlier version may lack until
# _upgrade has added them.
_INDEXES = """
CREATE INDEX IF NOT EXISTS block_pages_ts ON block_pages (ts);
CREATE INDEX IF NOT EXISTS headlines_ts ON headlines (ts);
"""
# Each document's rows in the tables that refer to documents, removed when it is forgotten.
_DOC_TABLES = ("docs", "aliases", "doc_blocks", "content", "bands", "doc_seen")


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
        self._upgrade(time.time())
        self._db.executescript(_INDEXES)
        self._transaction = SQLiteTransaction(db)

    def _upgrade(self, now: float) -> None:
        """A store from before the window: its documents start the window now; its block counts
        and teaser headlines (without times) go, as in the Redis store."""
        with self._db:
            for table, schema in (("block_pages", _BLOCK_PAGES), ("headlines", _HEADLINES)):
                columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                if "ts" not in columns:
                    self._db.execute(f"DROP TABLE {table}")
                    self._db.execute(schema)
            if self._db.execute("SELECT 1 FROM doc_seen LIMIT 1").fetchone() is None:
                self._db.execute("INSERT OR IGNORE INTO doc_seen SELECT doc_id, ? FROM docs", (now,))

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

    def get_docs(self, doc_ids: Iterable[str]) -> list[StoredDoc]:
        return [d for d in map(self.get_doc, doc_ids) if d is not None]

    def aliases_of(self, doc_ids: Iterable[str]) -> dict[str, list[str]]:
        return {d: self.aliases(d) for d in doc_ids}

    def aliases(self, doc_id: str) -> list[str]:
        return [
            r[0] for r in self._db.execute("SELECT url FROM aliases WHERE doc_id=? ORDER BY url", (doc_id,))
        ]

    # --- blocks -----------------------------------------------------------------------------

    def add_block_pages(
        self, host: str, blocks: Iterable[str], page_url: str, *, now: float, since: float, cap: int
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        for chunk, marks in _chunks(blocks):
            self._db.execute(
                f"DELETE FROM block_pages WHERE host=? AND block IN ({marks}) AND ts < ?",
                (host, *chunk, since),
            )
            held = dict(
                self._db.execute(
                    f"SELECT block, COUNT(*) FROM block_pages WHERE host=? AND block IN ({marks})"
                    " GROUP BY block",
                    (host, *chunk),
                ).fetchall()
            )
            known = {
                r[0]
                for r in self._db.execute(
                    f"SELECT block FROM block_pages WHERE host=? AND page_url=? AND block IN ({marks})",
                    (host, page_url, *chunk),
                )
            }
            self._db.executemany(
                "UPDATE block_pages SET ts=? WHERE host=? AND block=? AND page_url=?",
                [(now, host, b, page_url) for b in known],
            )
            new = [b for b in chunk if b not in known and held.get(b, 0) < cap]
            self._db.executemany(
                "INSERT INTO block_pages VALUES (?,?,?,?)", [(host, b, page_url, now) for b in new]
            )
            counts.update((b, held.get(b, 0) + 1) for b in new)
        return counts

    def forget_stale_counts(self, before: float, limit: int) -> int:
        pages = self._db.execute(
            "DELETE FROM block_pages WHERE (host, block, page_url) IN"
            " (SELECT host, block, page_url FROM block_pages WHERE ts < ? LIMIT ?)",
            (before, limit),
        )
        teasers = self._db.execute(
            "DELETE FROM headlines WHERE (host, block, article_url) IN"
            " (SELECT host, block, article_url FROM headlines WHERE ts < ? LIMIT ?)",
            (before, limit),
        )
        return pages.rowcount + teasers.rowcount

    def mark_boilerplate(self, host: str, block: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO boilerplate VALUES (?, ?)", (host, block))

    def block_status(
        self, host: str, blocks: Iterable[str], since: float
    ) -> tuple[set[str], dict[str, set[str]]]:
        wanted = sorted(set(blocks))
        return self._boilerplate(host, wanted), self._headlines(host, wanted, since)

    def _boilerplate(self, host: str, blocks: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk, marks in _chunks(blocks):
            found |= {
                r[0]
                for r in self._db.execute(
                    f"SELECT block FROM boilerplate WHERE host=? AND block IN ({marks})", (host, *chunk)
                )
            }
        return found

    def add_headlines(self, host: str, teased: list[tuple[str, str]], now: float) -> set[str]:
        gained: set[str] = set()
        for block, article_url in teased:
            cur = self._db.execute(
                "UPDATE headlines SET ts=? WHERE host=? AND block=? AND article_url=?",
                (now, host, block, article_url),
            )
            if not cur.rowcount:
                self._db.execute("INSERT INTO headlines VALUES (?,?,?,?)", (host, block, article_url, now))
                gained.add(block)
        return gained

    def _headlines(self, host: str, blocks: Iterable[str], since: float) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for chunk, marks in _chunks(blocks):
            for block, url in self._db.execute(
                f"SELECT block, article_url FROM headlines WHERE host=? AND block IN ({marks}) AND ts >= ?",
                (host, *chunk, since),
            ):
                found.setdefault(block, set()).add(url)
        return found

    def set_doc_blocks(self, doc_id: str, host: str, blocks: Iterable[str]) -> None:
        self._db.execute("DELETE FROM doc_blocks WHERE doc_id=?", (doc_id,))
        self._db.executemany(
            "INSERT OR IGNORE INTO doc_blocks VALUES (?,?,?)", [(b, doc_id, host) for b in blocks]
        )

    def _docs_with_blocks(self, blocks: Iterable[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for chunk, marks in _chunks(blocks):
            for block, doc_id in self._db.execute(
                f"SELECT block, doc_id FROM doc_blocks WHERE block IN ({marks})", chunk
            ):
                found.setdefault(block, set()).add(doc_id)
        return found

    def docs_with_host_blocks(self, host: str, blocks: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk, marks in _chunks(blocks):
            rows = self._db.execute(
                f"SELECT doc_id FROM doc_blocks WHERE block IN ({marks}) AND host=?", (*chunk, host)
            )
            found |= {r[0] for r in rows}
        return found

    # --- fingerprints and links -------------------------------------------------------------

    def set_fingerprints(self, doc_id: str, content: str, bands: list[tuple[int, int]]) -> None:
        self._db.execute("DELETE FROM content WHERE doc_id=?", (doc_id,))
        self._db.execute("INSERT OR IGNORE INTO content VALUES (?, ?)", (content, doc_id))
        self._db.execute("DELETE FROM bands WHERE doc_id=?", (doc_id,))
        self._db.executemany("INSERT OR IGNORE INTO bands VALUES (?,?,?)", [(b, v, doc_id) for b, v in bands])

    def candidates(
        self, content: str, bands: list[tuple[int, int]], blocks: Iterable[str]
    ) -> tuple[set[str], dict[str, set[str]]]:
        found = {
            r[0] for r in self._db.execute("SELECT doc_id FROM content WHERE content_hash=?", (content,))
        }
        for band, value in bands:
            found |= {
                r[0]
                for r in self._db.execute("SELECT doc_id FROM bands WHERE band=? AND value=?", (band, value))
            }
        return found, self._docs_with_blocks(blocks)

    def touch_docs(self, doc_ids: Iterable[str], now: float) -> None:
        self._db.executemany("INSERT OR REPLACE INTO doc_seen VALUES (?, ?)", [(d, now) for d in doc_ids])

    def seen_at(self, doc_ids: Iterable[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        for chunk, marks in _chunks(doc_ids):
            found.update(
                self._db.execute(f"SELECT doc_id, ts FROM doc_seen WHERE doc_id IN ({marks})", chunk)
            )
        return found

    def expired_docs(self, before: float, limit: int) -> list[str]:
        rows = self._db.execute(
            "SELECT doc_id FROM doc_seen WHERE ts < ? ORDER BY ts LIMIT ?", (before, limit)
        )
        return [r[0] for r in rows]

    def forget_docs(self, doc_ids: Iterable[str]) -> None:
        for chunk, marks in _chunks(doc_ids):
            for table in _DOC_TABLES:
                self._db.execute(f"DELETE FROM {table} WHERE doc_id IN ({marks})", chunk)
            # Edges are stored both ways: the far ends' rows through the near ends' (a full scan
            # of edges for "b IN" otherwise).
            pairs = self._db.execute(f"SELECT b, a FROM edges WHERE a IN ({marks})", chunk).fetchall()
            self._db.executemany("DELETE FROM edges WHERE a=? AND b=?", pairs)
            self._db.execute(f"DELETE FROM edges WHERE a IN ({marks})", chunk)

    def neighbours_of(self, doc_ids: Iterable[str]) -> dict[str, set[str]]:
        return {d: self.neighbours(d) for d in doc_ids}

    def neighbours(self, doc_id: str) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT b FROM edges WHERE a=?", (doc_id,))}

    def set_neighbours(self, doc_id: str, neighbours: set[str], previous: set[str]) -> None:
        for old in previous - neighbours:
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
