"""An index that fails each document's first write: the fault a locked file or a slow cluster
produces at a moment no test can choose. Named by ``index.backend`` through the factory."""

from __future__ import annotations

from typing import Any

from indexer.sqlite import SQLiteIndex
from newscrawl.core.document import Document
from newscrawl.core.errors import IndexBackendError
from newscrawl.core.settings import Settings


class FlakyIndex(SQLiteIndex):
    @classmethod
    def from_settings(cls, settings: Settings, stores: Any) -> FlakyIndex:
        return cls(stores.sqlite("index.sqlite"))

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self._failed: set[str] = set()
        self.faults = 0

    def _fail_once(self, key: str) -> None:
        if key not in self._failed:
            self._failed.add(key)
            self.faults += 1
            raise IndexBackendError(f"injected: first write of {key}")

    def upsert(self, document: Document, *, again: bool = False) -> None:
        self._fail_once("upsert " + document.id)
        super().upsert(document, again=again)

    def update(self, doc_id: str, fields: dict[str, Any]) -> None:
        self._fail_once("update " + doc_id)
        super().update(doc_id, fields)
