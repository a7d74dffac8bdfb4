"""The deduplicator: repeated blocks, exact and near-duplicate stories, the same answer in any order.

Rules (README "Deduplication"):

1. URL level: pages with the same canonical URL are one document (its id derives from that URL);
   the page whose own URL *is* the canonical URL supplies the content, the others are aliases.
2. Repeated blocks: a body is split into blocks (its paragraphs). A block whose normalised text
   appears on ``repeated_block_min_pages`` distinct pages of the same host is boilerplate or a
   teaser, and so is a line that is the headline of *another* article teased on that host's
   listing pages. They are stripped before hashing and indexing. Text repeated across hosts is
   syndication, not boilerplate. Sections headed "Related articles" (and the like) are removed
   from the page before extraction (``workers/extract.py``).
3. Exact duplicates share the hash of the normalised cleaned body.
4. Near duplicates: candidates are documents whose 64-bit simhash is within
   ``simhash_max_distance`` bits (banded index: k+1 bands, so a lookup touches k+1 buckets) or that
   share ``shared_blocks_min`` cleaned blocks; a candidate is merged only if the texts agree:
   shingle Jaccard >= ``near_min_jaccard`` and containment >= ``near_min_containment``.
5. Clusters are the connected components of verified pairs. The canonical article of a cluster is
   the one most often named by other hosts' ``rel=canonical``, then the earliest published, then
   the smallest id (first seen depends on crawl order, so it cannot decide). The others get
   ``duplicate_of``; the canonical one lists every other appearance in ``also_seen_at``.
6. Order independence: when a block becomes boilerplate, affected documents are re-cleaned,
   re-fingerprinted and re-linked; when a cluster's canonical article changes, every member is
   updated. The stage returns these corrections for the index to apply.
7. A window: a cluster none of whose members was seen for ``window_days`` leaves the store (the
   index keeps it), and block counts and teaser headlines that old stop counting. A crawl runs
   for weeks; the store holds the stories of the window, not every story ever seen.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from newscrawl.core.document import Document
from newscrawl.core.records import Teaser, normalize_text
from newscrawl.core.settings import DedupSettings
from newscrawl.core.urls import host_of
from workers.fingerprint import content_hash, shingle_digests, simhash_of_digests

# Blocks shared by more documents than this are too common to tell stories apart.
_MAX_DOCS_PER_BLOCK_CANDIDATE = 50


def block_hash(text: str) -> str:
    return hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()[:20]


def split_blocks(body: str) -> list[str]:
    return [line.strip() for line in body.split("\n") if line.strip()]


def bands_of(value: int, max_distance: int) -> list[tuple[int, int]]:
    """(band number, band value) pairs: k+1 bands, so two hashes within k bits share one."""
    count = max_distance + 1
    width = math.ceil(64 / count)
    return [(i, (value >> (i * width)) & ((1 << width) - 1)) for i in range(count)]


@dataclass(frozen=True)
class _Fingerprints:
    content_hash: str
    simhash: int
    shingles: set[bytes]

    @classmethod
    def of(cls, text: str) -> _Fingerprints:
        shingles = shingle_digests(text)
        return cls(content_hash(text), simhash_of_digests(shingles), shingles)


@dataclass
class StoredDoc:
    doc_id: str
    url: str
    canonical_url: str
    host: str
    published_ts: float | None
    blocks: list[str]
    block_hashes: list[str]
    kept: list[int] = field(default_factory=list)
    content_hash: str = ""
    simhash: int = 0
    votes: int = 0
    duplicate_of: str | None = None
    title: str = ""
    _shingles: set[bytes] | None = field(default=None, repr=False, compare=False)
    # The blocks as stored (compressed JSON): they never change once a document is made.
    _packed: bytes | None = field(default=None, repr=False, compare=False)
    # The fingerprints of the whole body (every block kept), when computed before the decision.
    _whole: _Fingerprints | None = field(default=None, repr=False, compare=False)

    def shingles(self) -> set[bytes]:
        """Shingle digests of the cleaned body, computed once per loaded document."""
        if self._shingles is None:
            self._shingles = shingle_digests(self.cleaned_body)
        return self._shingles

    def packed_blocks(self) -> bytes:
        if self._packed is None:
            self._packed = zlib.compress(json.dumps(self.blocks, ensure_ascii=False).encode("utf-8"), 6)
        return self._packed

    @property
    def cleaned_body(self) -> str:
        return "\n".join(self.blocks[i] for i in self.kept)

    def rank(self) -> tuple[int, float, str]:
        published = self.published_ts if self.published_ts is not None else math.inf
        return (-self.votes, published, self.doc_id)


# How a StoredDoc is kept by every store: these fields, as text (blocks as compressed JSON bytes).
STORED_DOC_FIELDS = (
    "url",
    "canonical_url",
    "host",
    "published_ts",
    "blocks",
    "block_hashes",
    "kept",
    "content_hash",
    "simhash",
    "votes",
    "duplicate_of",
    "title",
)


def encode_doc(doc: StoredDoc) -> dict[str, str | bytes]:
    """The stored form of a document: every field a string, the blocks compressed."""
    return {
        "url": doc.url,
        "canonical_url": doc.canonical_url,
        "host": doc.host,
        "published_ts": "" if doc.published_ts is None else repr(doc.published_ts),
        "blocks": doc.packed_blocks(),
        "block_hashes": ",".join(doc.block_hashes),
        "kept": json.dumps(doc.kept),
        "content_hash": doc.content_hash,
        "simhash": f"{doc.simhash:016x}",
        "votes": str(doc.votes),
        "duplicate_of": doc.duplicate_of or "",
        "title": doc.title,
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def decode_doc(doc_id: str, fields: dict[str, Any]) -> StoredDoc:
    """A document from its stored form (values may be text or bytes)."""
    published = _text(fields["published_ts"])
    hashes = _text(fields["block_hashes"])
    return StoredDoc(
        doc_id=doc_id,
        url=_text(fields["url"]),
        canonical_url=_text(fields["canonical_url"]),
        host=_text(fields["host"]),
        published_ts=float(published) if published else None,
        blocks=json.loads(zlib.decompress(fields["blocks"])),
        _packed=bytes(fields["blocks"]),
        block_hashes=hashes.split(",") if hashes else [],
        kept=json.loads(_text(fields["kept"])),
        content_hash=_text(fields["content_hash"]),
        simhash=int(_text(fields["simhash"]), 16),
        votes=int(_text(fields["votes"])),
        duplicate_of=_text(fields["duplicate_of"]) or None,
        title=_text(fields["title"]),
    )


@dataclass(frozen=True)
class DocUpdate:
    """A partial update of an indexed document."""

    doc_id: str
    fields: dict[str, Any]


@dataclass
class DedupOutcome:
    # index: write the document (with the fields the stage set); alias: only record its URL.
    action: Literal["index", "alias"]
    doc_id: str
    updates: list[DocUpdate] = field(default_factory=list)
    # The same page was decided on before (fetched again as updated, or reprocessed): no new story.
    again: bool = False


class DedupStore(Protocol):
    """Storage primitives of the deduplicator; every call runs inside ``transaction()``."""

    def transaction(self) -> AbstractContextManager[None]: ...
    def keep_alive(self) -> None:
        """Inside a transaction that expires (a lock with a TTL): push its expiry back."""

    def get_doc(self, doc_id: str) -> StoredDoc | None: ...
    def get_docs(self, doc_ids: Iterable[str]) -> list[StoredDoc]:
        """The stored ones of these documents, in the order given (a cluster, a candidate list:
        one round trip to a remote store)."""
        ...

    def put_doc(self, doc: StoredDoc) -> None: ...
    def add_alias(self, doc_id: str, url: str) -> bool: ...
    def aliases(self, doc_id: str) -> list[str]: ...
    def aliases_of(self, doc_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each document's aliases, sorted (documents without any map to [])."""
        ...

    def add_block_pages(
        self, host: str, blocks: Iterable[str], page_url: str, *, now: float, since: float, cap: int
    ) -> dict[str, int]:
        """Count ``page_url`` (seen at ``now``) for each block not counted for it before; their
        page counts now. Pages counted before ``since`` no longer count; a block already counted
        on ``cap`` pages takes no more (its count is all that matters, and it stays bounded)."""
        ...

    def forget_stale_counts(self, before: float, limit: int) -> int:
        """Drop up to ``limit`` blocks' page counts and teaser headlines last written before
        ``before``; how many."""
        ...

    def touch_docs(self, doc_ids: Iterable[str], now: float) -> None:
        """The stage saw these documents at ``now`` (their window starts again)."""
        ...

    def seen_at(self, doc_ids: Iterable[str]) -> dict[str, float]:
        """When each stored document was last seen (documents not stored are left out)."""
        ...

    def expired_docs(self, before: float, limit: int) -> list[str]:
        """Up to ``limit`` documents last seen before ``before``, the longest unseen first."""
        ...

    def forget_docs(self, doc_ids: Iterable[str]) -> None:
        """Remove these documents and everything that refers to them (a whole cluster at once)."""
        ...

    def mark_boilerplate(self, host: str, block: str) -> None: ...
    def block_status(
        self, host: str, blocks: Iterable[str], since: float
    ) -> tuple[set[str], dict[str, set[str]]]:
        """Of ``blocks`` on ``host``: those that are boilerplate, and the articles teased under
        each (as a headline) since ``since``."""
        ...

    def add_headlines(self, host: str, teased: list[tuple[str, str]], now: float) -> set[str]:
        """Articles teased on ``host`` at ``now``, as (headline block, article URL) pairs; the
        headline blocks that gained an article."""
        ...

    def set_doc_blocks(self, doc_id: str, host: str, blocks: Iterable[str]) -> None: ...
    def docs_with_host_blocks(self, host: str, blocks: Iterable[str]) -> set[str]:
        """The documents of ``host`` that hold any of ``blocks``."""
        ...

    def set_fingerprints(self, doc_id: str, content: str, bands: list[tuple[int, int]]) -> None: ...
    def candidates(
        self, content: str, bands: list[tuple[int, int]], blocks: Iterable[str]
    ) -> tuple[set[str], dict[str, set[str]]]:
        """Near-duplicate candidates: the documents with this content hash or in any of these
        simhash bands, and the documents (any host) holding each of ``blocks``."""
        ...

    def neighbours(self, doc_id: str) -> set[str]: ...
    def neighbours_of(self, doc_ids: Iterable[str]) -> dict[str, set[str]]:
        """Each document's neighbours (documents without any map to an empty set)."""
        ...

    def set_neighbours(self, doc_id: str, neighbours: set[str], previous: set[str]) -> None:
        """``doc_id``'s neighbours become ``neighbours``; ``previous`` are its current ones (the
        caller has just read them, in the same transaction)."""
        ...

    def stats(self) -> dict[str, int]: ...
    def close(self) -> None: ...


class DedupStage(Protocol):
    def decision(self) -> AbstractContextManager[None]:
        """Hold the decision lock (reentrant): what is written to the index inside it lands in the
        order the decisions were made, whatever other workers decide meanwhile."""

    def keep_alive(self) -> None:
        """Inside :meth:`decision`, while waiting: keep the lock from expiring."""

    def prepare(self, document: Document) -> StoredDoc:
        """What the decision on ``document`` needs that no store has a say in (its blocks and
        fingerprints), worked out outside :meth:`decision`: every worker waits while one holds it."""

    def process(self, document: Document, prepared: StoredDoc | None = None) -> DedupOutcome:
        """Decide on ``document`` (its fields are set in place) and return corrections to others;
        ``prepared``: :meth:`prepare`'s result for it, when the caller already holds the lock."""

    def observe_listing(self, host: str, teasers: list[Teaser]) -> list[DocUpdate]:
        """Count a listing page's teaser blocks; returns corrections when blocks become boilerplate."""


# How often a stage looks for what left the window, and how much it forgets at once: the work
# spreads over decisions (each adds one document and its blocks, so it keeps up).
_PRUNE_EVERY_S = 60.0
_FORGET_DOCS_PER_PRUNE = 64
_FORGET_BLOCKS_PER_PRUNE = 2048


def _prepared(document: Document) -> StoredDoc:
    """The document as the store keeps it, with its stored blocks and the fingerprints of its
    whole body worked out (most documents keep every block)."""
    blocks = split_blocks(document.body)
    doc = StoredDoc(
        doc_id=document.id,
        url=document.url,
        canonical_url=document.canonical_url,
        host=document.host,
        published_ts=document.published_at.timestamp() if document.published_at else None,
        blocks=blocks,
        block_hashes=[block_hash(b) for b in blocks],
        title=document.title or "",
    )
    doc.packed_blocks()
    doc._whole = _Fingerprints.of("\n".join(blocks))
    return doc


class ContentDeduplicator:
    def __init__(
        self, store: DedupStore, settings: DedupSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._s = settings
        self._clock = clock
        self._window_s = settings.window_days * 86_400.0
        self._pruned_at = -math.inf

    # --- entry points -----------------------------------------------------------------------

    def decision(self) -> AbstractContextManager[None]:
        return self._store.transaction()

    def keep_alive(self) -> None:
        self._store.keep_alive()

    def prepare(self, document: Document) -> StoredDoc:
        return _prepared(document)

    def process(self, document: Document, prepared: StoredDoc | None = None) -> DedupOutcome:
        now = self._clock()
        doc = prepared if prepared is not None else _prepared(document)  # before the lock if not held
        with self._store.transaction():
            outcome = self._process(document, doc, now)
            self._prune(now)
            return outcome

    def observe_listing(self, host: str, teasers: list[Teaser]) -> list[DocUpdate]:
        now = self._clock()
        with self._store.transaction():
            dirty: set[str] = set()
            # A listing's teasers at once: a store round trip per listing, not per teaser.
            by_page: dict[str, list[str]] = {}
            teased: list[tuple[str, str]] = []
            for teaser in teasers:
                if not teaser.page_url:
                    continue
                by_page.setdefault(teaser.page_url, []).append(teaser.block_hash)
                if teaser.headline:
                    teased.append((block_hash(teaser.headline), teaser.article_url))
            for page_url, blocks in by_page.items():
                dirty |= self._count_blocks(host, blocks, page_url, now)
            gained = self._store.add_headlines(host, teased, now) if teased else set()
            if gained:
                dirty |= self._store.docs_with_host_blocks(host, gained)
            updates = self._refresh(dirty)
            self._prune(now)  # listings alone add counts too: a crawl of them must not grow
            return updates

    # --- the algorithm ----------------------------------------------------------------------

    def _process(self, document: Document, doc: StoredDoc, now: float) -> DedupOutcome:
        self._store.touch_docs([document.id], now)
        existing = self._store.get_doc(document.id)
        if existing is not None and existing.url != document.url and not self._supersedes(document, existing):
            self._store.add_alias(document.id, document.url)
            existing.votes = self._votes(existing)
            self._store.put_doc(existing)
            return DedupOutcome("alias", document.id, _merge(self._recluster({existing.doc_id})))
        if existing is not None and existing.url != document.url:
            self._store.add_alias(document.id, existing.url)  # the original page replaces a copy
        doc.votes = self._votes(doc)
        dirty = self._count_blocks(doc.host, doc.block_hashes, doc.url, now)
        self._store.set_doc_blocks(doc.doc_id, doc.host, set(doc.block_hashes))
        self._clean(doc)
        self._store.put_doc(doc)
        dirty.discard(doc.doc_id)
        updates = self._refresh(dirty) + self._relink(doc)
        # Relinking updates the document's own cluster fields (duplicate_of, also_seen_at) too.
        for update in updates:
            if update.doc_id == doc.doc_id:
                for key, value in update.fields.items():
                    setattr(document, key, value)
        self._fill(document, doc)
        again = existing is not None and existing.url == document.url
        return DedupOutcome(
            "index", document.id, _merge([u for u in updates if u.doc_id != doc.doc_id]), again=again
        )

    def _votes(self, doc: StoredDoc) -> int:
        """How many pages on other hosts name this document's URL as their rel=canonical."""
        home = host_of(doc.canonical_url)
        return sum(1 for url in {doc.url, *self._store.aliases(doc.doc_id)} if host_of(url) != home)

    @staticmethod
    def _supersedes(document: Document, existing: StoredDoc) -> bool:
        """The page at the canonical URL itself replaces a copy that claimed the id first."""
        return document.url == document.canonical_url and existing.url != existing.canonical_url

    def _count_blocks(self, host: str, blocks: list[str], page_url: str, now: float) -> set[str]:
        """Count a page for its blocks; for blocks that become boilerplate, the documents to re-clean."""
        dirty: set[str] = set()
        # Pages by a short hash: URLs longer than 64 bytes would take Redis's small sets out of
        # their compact encoding (about 800 bytes a block instead of 200).
        page = hashlib.blake2b(page_url.encode("utf-8"), digest_size=8).hexdigest()
        counts = self._store.add_block_pages(
            host, blocks, page, now=now, since=now - self._window_s, cap=self._s.repeated_block_min_pages
        )
        turned = {block for block, pages in counts.items() if pages == self._s.repeated_block_min_pages}
        for block in sorted(turned):
            self._store.mark_boilerplate(host, block)
        if turned:
            dirty |= self._store.docs_with_host_blocks(host, turned)
        return dirty

    def _clean(self, doc: StoredDoc) -> None:
        stripped, teased = self._store.block_status(
            doc.host, doc.block_hashes, self._clock() - self._window_s
        )
        doc.kept = [
            i
            for i, h in enumerate(doc.block_hashes)
            if h not in stripped and not (teased.get(h, set()) - {doc.url, doc.canonical_url})
        ]
        whole = doc._whole if len(doc.kept) == len(doc.blocks) else None
        fingerprints = whole or _Fingerprints.of(doc.cleaned_body)
        doc._shingles = fingerprints.shingles
        doc.content_hash = fingerprints.content_hash
        doc.simhash = fingerprints.simhash
        self._store.set_fingerprints(
            doc.doc_id, doc.content_hash, bands_of(doc.simhash, self._s.simhash_max_distance)
        )

    def _refresh(self, doc_ids: set[str]) -> list[DocUpdate]:
        """Re-clean documents whose blocks changed status, then re-link them."""
        updates: list[DocUpdate] = []
        for doc_id in sorted(doc_ids):
            doc = self._store.get_doc(doc_id)
            if doc is None:
                continue
            before = doc.content_hash
            self._clean(doc)
            self._store.put_doc(doc)
            if doc.content_hash != before:
                updates.append(
                    DocUpdate(
                        doc_id,
                        {
                            "body": doc.cleaned_body,
                            "content_hash": doc.content_hash,
                            "simhash": f"{doc.simhash:016x}",
                        },
                    )
                )
                updates += self._relink(doc)
        return updates

    def _relink(self, doc: StoredDoc) -> list[DocUpdate]:
        """Recompute ``doc``'s verified neighbours and the clusters they touch."""
        old = self._store.neighbours(doc.doc_id)
        new = {c.doc_id for c in self._candidates(doc) if self._verified(doc, c)}
        self._store.set_neighbours(doc.doc_id, new, old)
        if not old and not new:  # a story of its own, as most are: its cluster is itself
            if doc.duplicate_of is not None:
                doc.duplicate_of = None
                self._store.put_doc(doc)
            return [self._appearances_update(doc, [doc], self._store.aliases_of([doc.doc_id]))]
        return self._recluster({doc.doc_id} | old | new)

    def _candidates(self, doc: StoredDoc) -> Iterator[StoredDoc]:
        bands = bands_of(doc.simhash, self._s.simhash_max_distance)
        ids, holders_of = self._store.candidates(
            doc.content_hash, bands, (doc.block_hashes[i] for i in doc.kept)
        )
        shared: dict[str, int] = {}
        for holders in holders_of.values():
            if len(holders) <= _MAX_DOCS_PER_BLOCK_CANDIDATE:
                for holder in holders:
                    shared[holder] = shared.get(holder, 0) + 1
        ids |= {d for d, n in shared.items() if n >= self._s.shared_blocks_min}
        ids.discard(doc.doc_id)
        yield from self._store.get_docs(sorted(ids))

    def _verified(self, doc: StoredDoc, other: StoredDoc) -> bool:
        if not doc.kept or not other.kept or not self._same_text(doc, other):
            return False
        if doc.host == other.host:
            # Within one host, shared page furniture inflates body similarity (worst when
            # extraction caught little else), so the headline must tell the same story too.
            return _title_similarity(doc.title, other.title) >= 0.5
        return True

    def _same_text(self, doc: StoredDoc, other: StoredDoc) -> bool:
        if doc.content_hash == other.content_hash:
            return True
        a, b = doc.shingles(), other.shingles()
        if not a or not b:
            return False
        common = len(a & b)
        jaccard = common / len(a | b)
        containment = common / min(len(a), len(b))
        return jaccard >= self._s.near_min_jaccard and containment >= self._s.near_min_containment

    def _prune(self, now: float) -> None:
        """Forget what left the window: block counts of old pages, and clusters none of whose
        members was seen within it (a member seen lately keeps its whole cluster)."""
        if now - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = now
        cutoff = now - self._window_s
        self._store.forget_stale_counts(cutoff, _FORGET_BLOCKS_PER_PRUNE)
        for doc_id in self._store.expired_docs(cutoff, _FORGET_DOCS_PER_PRUNE):
            if not self._store.seen_at([doc_id]):
                continue  # forgotten with its cluster a moment ago
            members = self._component(doc_id)
            latest = max(self._store.seen_at(members).values())
            if latest >= cutoff:
                # Looked at again when its cluster's newest member leaves the window.
                self._store.touch_docs([doc_id], latest)
            else:
                self._store.forget_docs(members)

    def _component(self, start: str) -> set[str]:
        seen = {start}
        ring = {start}  # a store round trip per ring of the graph, not per document
        while ring:
            reached = set().union(*self._store.neighbours_of(ring).values())
            ring = reached - seen
            seen |= ring
        return seen

    def _recluster(self, touched: set[str]) -> list[DocUpdate]:
        updates: list[DocUpdate] = []
        done: set[str] = set()
        for start in sorted(touched):
            if start in done:
                continue
            members = self._store.get_docs(sorted(self._component(start)))
            done |= {m.doc_id for m in members}
            if not members:
                continue
            aliases = self._store.aliases_of(m.doc_id for m in members)
            canonical = min(members, key=StoredDoc.rank)
            for member in members:
                target = None if member is canonical else canonical.doc_id
                if member.duplicate_of != target:
                    member.duplicate_of = target
                    self._store.put_doc(member)
            # Every member's whole cluster state, changed or not: a correction that was decided
            # but never reached the index (a crash between the two) is made again next time.
            updates.append(self._appearances_update(canonical, members, aliases))
            for member in members:
                if member is not canonical:
                    own = sorted(set(aliases[member.doc_id]) - {member.url})
                    fields = {"duplicate_of": canonical.doc_id, "also_seen_at": own}
                    updates.append(DocUpdate(member.doc_id, fields))
        return updates

    def _appearances_update(
        self, canonical: StoredDoc, members: list[StoredDoc], aliases: dict[str, list[str]]
    ) -> DocUpdate:
        urls: set[str] = set(aliases[canonical.doc_id])
        for member in members:
            if member.doc_id != canonical.doc_id:
                urls.add(member.url)
                urls |= set(aliases[member.doc_id])
        urls.discard(canonical.url)
        return DocUpdate(canonical.doc_id, {"duplicate_of": None, "also_seen_at": sorted(urls)})

    def _fill(self, document: Document, doc: StoredDoc) -> None:
        document.body = doc.cleaned_body
        document.content_hash = doc.content_hash
        document.simhash = f"{doc.simhash:016x}"


def _title_similarity(a: str, b: str) -> float:
    wa, wb = set(normalize_text(a).split()), set(normalize_text(b).split())
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def _merge(updates: list[DocUpdate]) -> list[DocUpdate]:
    """One update per document, later fields winning, in first-seen order."""
    merged: dict[str, dict[str, Any]] = {}
    for update in updates:
        merged.setdefault(update.doc_id, {}).update(update.fields)
    return [DocUpdate(doc_id, fields) for doc_id, fields in merged.items()]
