"""The embedded index: SQLite with an FTS5 table ranked by BM25."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from newscrawl.core.connections import open_sqlite
from newscrawl.core.document import SCHEMA_FIELDS, Document
from newscrawl.core.errors import IndexBackendError, StoreError
from newscrawl.core.interfaces import SearchHit, SearchQuery

_LIST_FIELDS = ("authors", "tags", "also_seen_at")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS documents (
    rowid INTEGER PRIMARY KEY,
    {", ".join(f"{name} TEXT" if name != "id" else "id TEXT UNIQUE NOT NULL" for name in SCHEMA_FIELDS)}
);
CREATE INDEX IF NOT EXISTS documents_outlet ON documents (outlet, published_at);
CREATE INDEX IF NOT EXISTS documents_dup ON documents (duplicate_of);
CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5 (
    title, description, body, authors,
    content='documents', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts (rowid, title, description, body, authors)
    VALUES (new.rowid, new.title, new.description, new.body, new.authors);
END;
CREATE TRIGGER IF NOT EXISTS documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, title, description, body, authors)
    VALUES ('delete', old.rowid, old.title, old.description, old.body, old.authors);
END;
CREATE TRIGGER IF NOT EXISTS documents_au AFTER UPDATE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, title, description, body, authors)
    VALUES ('delete', old.rowid, old.title, old.description, old.body, old.authors);
    INSERT INTO documents_fts (rowid, title, description, body, authors)
    VALUES (new.rowid, new.title, new.description, new.body, new.authors);
END;
"""

# Column weights for bm25(): a hit in the title counts most.
_BM25_WEIGHTS = "10.0, 3.0, 1.0, 2.0"


def _to_row(doc: Document) -> dict[str, Any]:
    data = doc.to_dict()
    for key in _LIST_FIELDS:
        data[key] = json.dumps(data[key], ensure_ascii=False)
    data["paywalled"] = "1" if doc.paywalled else "0"
    return data


def _from_row(row: sqlite3.Row) -> Document:
    data = {key: row[key] for key in SCHEMA_FIELDS}
    for key in _LIST_FIELDS:
        data[key] = json.loads(data[key]) if data[key] else []
    data["paywalled"] = data["paywalled"] == "1"
    return Document.from_dict(data)


def fts_query(text: str) -> str:
    """A user's words as an FTS5 query: each word must match, as a prefix-free phrase token."""
    words = [w for w in text.replace('"', " ").split() if w]
    return " ".join(f'"{w}"' for w in words)


class SQLiteIndex:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._db.executescript(_SCHEMA)

    @classmethod
    def open(cls, path: Path) -> SQLiteIndex:
        return cls(open_sqlite(path))

    def upsert(self, document: Document, *, again: bool = False) -> None:
        row = _to_row(document)
        existing = self._db.execute(
            "SELECT first_seen_at FROM documents WHERE id=?", (document.id,)
        ).fetchone()
        if existing is not None and existing["first_seen_at"]:
            row["first_seen_at"] = existing["first_seen_at"]  # a re-extraction is not a first sighting
        columns = ", ".join(SCHEMA_FIELDS)
        placeholders = ", ".join(f":{name}" for name in SCHEMA_FIELDS)
        updates = ", ".join(f"{name}=excluded.{name}" for name in SCHEMA_FIELDS if name != "id")
        self._db.execute(
            f"INSERT INTO documents ({columns}) VALUES ({placeholders})"
            f" ON CONFLICT(id) DO UPDATE SET {updates}",
            row,
        )

    def update(self, doc_id: str, fields: dict[str, Any]) -> None:
        unknown = set(fields) - set(SCHEMA_FIELDS) | ({"id"} & set(fields))
        if unknown:
            raise IndexBackendError(f"cannot update fields {sorted(unknown)}")
        values = {k: json.dumps(v, ensure_ascii=False) if k in _LIST_FIELDS else v for k, v in fields.items()}
        assignments = ", ".join(f"{k}=:{k}" for k in values)
        self._db.execute(f"UPDATE documents SET {assignments} WHERE id=:__id", {**values, "__id": doc_id})

    def get(self, doc_id: str) -> Document | None:
        row = self._db.execute("SELECT * FROM documents WHERE id=?", (doc_id,)).fetchone()
        return _from_row(row) if row else None

    def search(self, query: SearchQuery) -> list[SearchHit]:
        match = fts_query(query.text)
        where = ["1=1"]
        params: list[Any] = []
        if match:
            where.append("documents_fts MATCH ?")
            params.append(match)
        if query.outlet:
            where.append("d.outlet = ?")
            params.append(query.outlet)
        if query.since:
            where.append("d.published_at >= ?")
            params.append(query.since.isoformat())
        if query.language:
            where.append("d.language = ?")
            params.append(query.language.lower())
        if not query.include_duplicates:
            where.append("d.duplicate_of IS NULL")
        if match:
            sql = (
                f"SELECT d.*, bm25(documents_fts, {_BM25_WEIGHTS}) AS score,"
                " snippet(documents_fts, 2, '[', ']', ' … ', 16) AS snip"
                " FROM documents_fts JOIN documents d ON d.rowid = documents_fts.rowid"
                f" WHERE {' AND '.join(where)} ORDER BY score LIMIT ?"
            )
        else:
            sql = (
                f"SELECT d.*, 0.0 AS score, substr(d.body, 1, 160) AS snip FROM documents d"
                f" WHERE {' AND '.join(where)} ORDER BY d.published_at DESC LIMIT ?"
            )
        params.append(query.limit)
        try:
            rows = self._db.execute(sql, params).fetchall()
        except StoreError as exc:  # FTS5 syntax errors come through the store's error mapping
            raise IndexBackendError(f"bad search query {query.text!r}: {exc.message}") from exc
        hits = []
        for row in rows:
            doc = _from_row(row)
            hits.append(
                SearchHit(
                    document=doc,
                    score=-float(row["score"]),
                    snippet=" ".join((row["snip"] or "").split()),
                    appearances=self._appearances(doc),
                )
            )
        return hits

    def _appearances(self, doc: Document) -> list[str]:
        copies = [r[0] for r in self._db.execute("SELECT url FROM documents WHERE duplicate_of=?", (doc.id,))]
        return list(dict.fromkeys(doc.also_seen_at + copies))

    def export(self) -> Iterator[Document]:
        for row in self._db.execute("SELECT * FROM documents ORDER BY rowid"):
            yield _from_row(row)

    def count(self, include_duplicates: bool = True) -> int:
        sql = "SELECT COUNT(*) FROM documents" + ("" if include_duplicates else " WHERE duplicate_of IS NULL")
        return int(self._db.execute(sql).fetchone()[0])

    def close(self) -> None:
        self._db.close()
