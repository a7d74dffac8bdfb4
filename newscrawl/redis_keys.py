"""Every Redis key newscrawl uses, in one place.

All keys start with a configurable prefix (``redis_prefix`` in settings, default "newscrawl"),
so several crawls can share one Redis and a test can remove exactly its own keys.
"""

from __future__ import annotations


class DedupKeys:
    """Keys of the deduplicator's store (workers/dedup_redis.py)."""

    def __init__(self, prefix: str) -> None:
        self.p = f"{prefix}:dedup"

    @property
    def lock(self) -> str:
        """STRING: the decision lock (token, with an expiry)."""
        return f"{self.p}:lock"

    @property
    def docs(self) -> str:
        """SET of every document id."""
        return f"{self.p}:docs"

    @property
    def duplicates(self) -> str:
        """SET of the ids of documents that are duplicates."""
        return f"{self.p}:duplicates"

    @property
    def boilerplate_count(self) -> str:
        """STRING counter of blocks marked boilerplate (all hosts)."""
        return f"{self.p}:boilerplate-count"

    @property
    def headline_count(self) -> str:
        """STRING counter of distinct teaser headlines (all hosts)."""
        return f"{self.p}:headline-count"

    def doc(self, doc_id: str) -> str:
        """HASH: the stored document (fields of ``StoredDoc``)."""
        return f"{self.p}:doc:{doc_id}"

    def aliases(self, doc_id: str) -> str:
        """SET of other URLs of the document."""
        return f"{self.p}:aliases:{doc_id}"

    def block_pages(self, host: str, block: str) -> str:
        """SET of the pages of ``host`` that carry ``block``."""
        return f"{self.p}:bp:{host}:{block}"

    def boilerplate(self, host: str) -> str:
        """SET of the blocks that are boilerplate on ``host``."""
        return f"{self.p}:boiler:{host}"

    def headlines(self, host: str, block: str) -> str:
        """SET of the article URLs teased on ``host`` under the headline ``block``."""
        return f"{self.p}:head:{host}:{block}"

    def block_docs(self, block: str) -> str:
        """SET of the documents (any host) holding ``block``."""
        return f"{self.p}:bd:{block}"

    def host_block_docs(self, host: str, block: str) -> str:
        """SET of the documents of ``host`` holding ``block``."""
        return f"{self.p}:hbd:{host}:{block}"

    def doc_blocks(self, doc_id: str) -> str:
        """SET of the blocks a document holds (to undo its memberships on change)."""
        return f"{self.p}:docblocks:{doc_id}"

    def content(self, content_hash: str) -> str:
        """SET of the documents with this normalised-body hash."""
        return f"{self.p}:content:{content_hash}"

    def band(self, band: int, value: int) -> str:
        """SET of the documents whose simhash has ``value`` in band ``band``."""
        return f"{self.p}:band:{band}:{value}"

    def doc_fingerprints(self, doc_id: str) -> str:
        """HASH: a document's current content hash and bands (to undo them on change)."""
        return f"{self.p}:docfp:{doc_id}"

    def edges(self, doc_id: str) -> str:
        """SET of a document's verified near-duplicate neighbours."""
        return f"{self.p}:edges:{doc_id}"
