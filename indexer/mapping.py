"""The search-engine mapping of the document schema (indexer/document.py), one definition for
Elasticsearch and OpenSearch. Text fields carry a ``keyword`` sub-field where consumers filter,
sort or aggregate; unknown fields are refused (``dynamic: strict``), so a schema drift shows up
as a dead letter instead of a silently different index.
"""

from __future__ import annotations

from typing import Any

from newscrawl.core.document import SCHEMA_FIELDS

# Bump when the mapping changes: `newscrawl index reindex` builds the next version and swaps aliases.
# 2: text fields fold accents (the embedded index's FTS5 tokenizer does too).
MAPPING_VERSION = 2

_KEYWORD = {"type": "keyword", "ignore_above": 2048}
_DATE = {"type": "date"}


# Lowercased and folded to ASCII ("Zürich" is found as "zurich"), as the embedded index's
# ``unicode61 remove_diacritics 2`` tokenizer does: one query, one answer in both modes.
FOLDED = "newscrawl_folded"
ANALYSIS = {
    "analyzer": {FOLDED: {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}}
}


def _text(keyword: bool) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "text", "analyzer": FOLDED}
    if keyword:
        field["fields"] = {"keyword": {"type": "keyword", "ignore_above": 512}}
    return field


PROPERTIES: dict[str, dict[str, Any]] = {
    "id": _KEYWORD,
    "url": _KEYWORD,
    "canonical_url": _KEYWORD,
    "outlet": _KEYWORD,
    "host": _KEYWORD,
    "title": _text(keyword=True),
    "authors": _text(keyword=True),
    "published_at": _DATE,
    "modified_at": _DATE,
    "language": _KEYWORD,
    "section": _KEYWORD,
    "tags": _KEYWORD,
    "description": _text(keyword=False),
    "body": _text(keyword=False),
    "image_url": {"type": "keyword", "index": False},
    "paywalled": {"type": "boolean"},
    "content_hash": _KEYWORD,
    "simhash": _KEYWORD,
    "duplicate_of": _KEYWORD,
    "also_seen_at": _KEYWORD,
    "first_seen_at": _DATE,
    "fetched_at": _DATE,
}

assert tuple(PROPERTIES) == SCHEMA_FIELDS


def index_template(pattern: str) -> dict[str, Any]:
    return {
        "index_patterns": [pattern],
        "template": {
            "settings": {"number_of_shards": 1, "refresh_interval": "1s", "analysis": ANALYSIS},
            "mappings": {
                "dynamic": "strict",
                "properties": PROPERTIES,
                "_meta": {"version": MAPPING_VERSION},
            },
        },
    }
