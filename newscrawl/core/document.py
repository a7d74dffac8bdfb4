"""The document schema, the same for every index backend."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

SCHEMA_FIELDS = (
    "id",
    "url",
    "canonical_url",
    "outlet",
    "host",
    "title",
    "authors",
    "published_at",
    "modified_at",
    "language",
    "section",
    "tags",
    "description",
    "body",
    "image_url",
    "paywalled",
    "content_hash",
    "simhash",
    "duplicate_of",
    "also_seen_at",
    "first_seen_at",
    "fetched_at",
)


def doc_id(canonical_url: str) -> str:
    """Stable id of the story at ``canonical_url``: replays and re-crawls overwrite, never add."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:32]


@dataclass
class Document:
    id: str
    url: str
    canonical_url: str
    outlet: str | None
    host: str
    title: str | None
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    modified_at: datetime | None = None
    language: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    body: str = ""
    image_url: str | None = None
    paywalled: bool = False
    content_hash: str | None = None
    # 64-bit simhash as 16 hex digits (fits every backend's keyword type, unlike an unsigned long).
    simhash: str | None = None
    duplicate_of: str | None = None
    also_seen_at: list[str] = field(default_factory=list)
    first_seen_at: datetime | None = None
    fetched_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes become ISO 8601 strings with their offset."""
        # Not dataclasses.asdict: its deep copy of every value cost a third of a millisecond a
        # document; the fields are strings, numbers, datetimes and lists of strings.
        data: dict[str, Any] = {}
        for name in SCHEMA_FIELDS:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, list):
                value = list(value)
            data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        values: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        for key in ("published_at", "modified_at", "first_seen_at", "fetched_at"):
            if isinstance(values[key], str):
                values[key] = datetime.fromisoformat(values[key])
        for key in ("authors", "tags", "also_seen_at"):
            values[key] = list(values[key] or [])
        values["paywalled"] = bool(values["paywalled"])
        values["body"] = values["body"] or ""
        return cls(**values)


assert tuple(f.name for f in fields(Document)) == SCHEMA_FIELDS
