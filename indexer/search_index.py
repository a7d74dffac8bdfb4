"""The search-engine index backend: reads from the cluster, writes to the Redis stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from indexer.engine import EngineClient, IndexAdmin, canonical_only, search_body
from indexer.stream import StreamWriter
from newscrawl.core.document import Document
from newscrawl.core.errors import SearchEngineError
from newscrawl.core.interfaces import SearchHit, SearchQuery
from newscrawl.core.settings import Settings


def _source_doc(source: dict[str, Any]) -> Document:
    return Document.from_dict(source)


class SearchEngineIndex:
    """The index backend for search consumers and the CLI: reads from the cluster; writes go to
    the Redis stream (indexer/stream.py), which `newscrawl indexer` loads in bulk."""

    def __init__(self, settings: Settings, writer: StreamWriter) -> None:
        self._settings = settings
        self._admin: IndexAdmin | None = None
        self.writer = writer

    @property
    def admin(self) -> IndexAdmin:
        # Built on first read: a worker only writes to the stream and never needs the cluster.
        if self._admin is None:
            self._admin = IndexAdmin(self._settings)
        return self._admin

    @property
    def client(self) -> EngineClient:
        return self.admin.client

    def upsert(self, document: Document, *, again: bool = False) -> None:
        self.writer.index(document, again=again)

    def update(self, doc_id: str, fields: dict[str, Any]) -> None:
        self.writer.update(doc_id, fields)

    def get(self, doc_id: str) -> Document | None:
        try:
            found = self.client.request("GET", f"/{self.admin.read_alias}/_doc/{doc_id}")
        except SearchEngineError as exc:
            if exc.status == 404:
                return None
            raise
        return _source_doc(found["_source"])

    def search(self, query: SearchQuery) -> list[SearchHit]:
        answer = self.client.request("POST", f"/{self.admin.read_alias}/_search", search_body(query))
        hits = answer["hits"]["hits"]
        copies = self._copies([h["_id"] for h in hits])
        out = []
        for hit in hits:
            doc = _source_doc(hit["_source"])
            fragments = hit.get("highlight", {}).get("body") or [doc.body[:160]]
            out.append(
                SearchHit(
                    document=doc,
                    score=float(hit.get("_score") or 0.0),
                    snippet=" … ".join(" ".join(f.split()) for f in fragments),
                    appearances=list(dict.fromkeys(doc.also_seen_at + copies.get(doc.id, []))),
                )
            )
        return out

    def _copies(self, ids: list[str]) -> dict[str, list[str]]:
        if not ids:
            return {}
        body = {"size": 1000, "_source": ["url", "duplicate_of"], "query": {"terms": {"duplicate_of": ids}}}
        answer = self.client.request("POST", f"/{self.admin.read_alias}/_search", body)
        copies: dict[str, list[str]] = {}
        for hit in answer["hits"]["hits"]:
            copies.setdefault(hit["_source"]["duplicate_of"], []).append(hit["_source"]["url"])
        return copies

    def export(self) -> Iterator[Document]:
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"size": 500, "sort": [{"id": "asc"}], "query": {"match_all": {}}}
            if after is not None:
                body["search_after"] = after
            hits = self.client.request("POST", f"/{self.admin.read_alias}/_search", body)["hits"]["hits"]
            if not hits:
                return
            for hit in hits:
                yield _source_doc(hit["_source"])
            after = hits[-1]["sort"]

    def count(self, include_duplicates: bool = True) -> int:
        body = None if include_duplicates else {"query": canonical_only()}
        return int(self.client.request("POST", f"/{self.admin.read_alias}/_count", body)["count"])

    def refresh(self) -> None:
        self.client.request("POST", f"/{self.admin.read_alias}/_refresh")

    def close(self) -> None:
        self.writer.close()
        if self._admin is not None:
            self._admin.client.close()
