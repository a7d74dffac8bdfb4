"""The index backend interface."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from indexer.document import Document


@dataclass(frozen=True)
class SearchQuery:
    text: str
    outlet: str | None = None
    since: datetime | None = None
    limit: int = 10
    include_duplicates: bool = False


@dataclass
class SearchHit:
    document: Document
    score: float
    snippet: str = ""
    # Other appearances of the story: copies' URLs and URL-level aliases.
    appearances: list[str] = field(default_factory=list)


class IndexBackend(Protocol):
    def upsert(self, document: Document) -> None:
        """Insert or replace the document with this id (idempotent)."""

    def update(self, doc_id: str, fields: dict[str, Any]) -> None:
        """Set some fields of an indexed document (no-op when it is not indexed)."""

    def get(self, doc_id: str) -> Document | None: ...

    def search(self, query: SearchQuery) -> list[SearchHit]: ...

    def export(self) -> Iterator[Document]: ...

    def count(self, include_duplicates: bool = True) -> int: ...

    def close(self) -> None: ...
