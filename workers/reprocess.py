"""Rebuild the index from WARC archives: every response record through the same pipeline.

Reads response records of any WARC (newscrawl's own, or another tool's: wget, Heritrix, CC-NEWS),
classifies, extracts, deduplicates and indexes them with the components of a crawl, without
fetching anything. Idempotent (document ids derive from canonical URLs: a second run overwrites),
resumable (a checkpoint per WARC file: how many of its records are done), parallel (processes
over files: the dedup decisions are the same in any order), filterable by host and
by capture date; every record it does not index is counted with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from newscrawl.core.errors import InvalidURL, NewscrawlError
from newscrawl.core.interfaces import IndexBackend
from newscrawl.core.log import get_logger
from newscrawl.core.records import Lease, UrlKind
from newscrawl.core.urls import host_of, normalize_url
from workers.archive import KIND_HEADER, OUTLET_HEADER
from workers.charset import decode_body
from workers.dedup import DedupStage
from workers.fetch import FetchResponse
from workers.pipeline import PageProcessor

log = get_logger("newscrawl.reprocess")

_CHECKPOINT_EVERY = 50
_WARC_SUFFIXES = (".warc", ".warc.gz", ".warc.gz.open")
_PAGE_KINDS: frozenset[Any] = frozenset({"article", "listing", "feed", "sitemap"})


class TruncatedRecord(Exception):
    """A record whose file ends before its declared length."""


@dataclass
class ReprocessReport:
    files: int = 0
    records: int = 0
    indexed: int = 0
    aliases: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    started_at: float = field(default_factory=time.monotonic)

    def add(self, other: ReprocessReport) -> None:
        self.files += other.files
        self.records += other.records
        self.indexed += other.indexed
        self.aliases += other.aliases
        self.skipped.update(other.skipped)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "records": self.records,
            "indexed": self.indexed,
            "url_aliases": self.aliases,
            "skipped": dict(self.skipped),
            "elapsed_s": round(time.monotonic() - self.started_at, 2),
        }


def warc_files(paths: Iterable[Path]) -> list[Path]:
    """The WARC files named, directories expanded (sorted: the order they were written in)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            # ".open": a file whose writer died; its complete records are worth reading too.
            out += sorted(
                p for p in path.rglob("*") if p.name.endswith((".warc", ".warc.gz", ".warc.gz.open"))
            )
        else:
            out.append(path)
    return out


class Reprocessor:
    def __init__(
        self,
        processor: PageProcessor,
        dedup: DedupStage,
        index: IndexBackend,
        checkpoint: Path,
        *,
        hosts: set[str] | None = None,
        since: datetime | None = None,
        on_progress: Callable[[ReprocessReport], None] | None = None,
    ) -> None:
        self.processor = processor
        self.dedup = dedup
        self.index = index
        self.checkpoints = checkpoint
        self.hosts = hosts
        self.since = since
        self.on_progress = on_progress
        self.report = ReprocessReport()

    def run(self, paths: Iterable[Path]) -> ReprocessReport:
        for path in warc_files(paths):
            self.report.files += 1
            self._file(path)
        return self.report

    def _checkpoint(self, path: Path) -> Path:
        """One small file per WARC (any process can resume any WARC): how many records are done."""
        digest = hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:20]
        return self.checkpoints / f"{digest}.json"

    def _done_before(self, path: Path) -> int:
        try:
            return int(json.loads(self._checkpoint(path).read_text("utf-8"))["records_done"])
        except (OSError, ValueError, KeyError):
            return 0

    def _save(self, path: Path, done: int) -> None:
        target = self._checkpoint(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"file": str(path.resolve()), "records_done": done}), "utf-8")
        tmp.replace(target)

    def _file(self, path: Path) -> None:
        done_before = self._done_before(path)  # records of this file settled by an earlier run
        position = 0
        try:
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    position += 1
                    if position <= done_before:
                        self.report.skipped["done_before"] += 1
                        continue
                    self._record(record)
                    # Marked done only once the record is fully read and settled.
                    if position % _CHECKPOINT_EVERY == 0:
                        self._save(path, position)
                        if self.on_progress:
                            self.on_progress(self.report)
        except (ArchiveLoadFailed, EOFError, OSError, ValueError, TruncatedRecord) as exc:
            # A file cut mid-record (its writer killed): the complete records count, the rest is reported.
            self.report.skipped["truncated_file"] += 1
            log.warning("warc_truncated", file=str(path), after_records=position - 1, error=str(exc)[:200])
            position -= 1
        if position > done_before:
            self._save(path, position)

    def _record(self, record: Any) -> None:
        self.report.records += 1
        if record.rec_type != "response":
            self.report.skipped[f"record_{record.rec_type}"] += 1
            return
        url = record.rec_headers.get_header("WARC-Target-URI") or ""
        try:
            url = normalize_url(url)
        except InvalidURL:
            self.report.skipped["invalid_url"] += 1
            return
        if url.endswith("/robots.txt"):
            self.report.skipped["robots"] += 1
            return
        if self.hosts is not None and host_of(url) not in self.hosts:
            self.report.skipped["host_filtered"] += 1
            return
        captured = _captured(record)
        if self.since is not None and captured is not None and captured < self.since:
            self.report.skipped["before_since"] += 1
            return
        http = record.http_headers
        status = int(http.get_statuscode() or 0) if http is not None else 0
        if status != 200:
            self.report.skipped[f"status_{status}"] += 1
            return
        body = record.content_stream().read()
        if getattr(record.raw_stream, "limit", 0) > 0:
            # The file ends inside this record (its writer was killed): not a page to index.
            raise TruncatedRecord(url)
        headers = {k.lower(): v for k, v in http.headers}
        try:
            text, encoding = decode_body(body, headers.get("content-type"), url)
        except NewscrawlError as exc:
            self.report.skipped[exc.kind] += 1
            return
        # Our own records say what the crawl leased the page as, and for which outlet; another
        # tool's records are taken as articles (the page may still declare itself a hub).
        declared = record.rec_headers.get_header(KIND_HEADER)
        kind: UrlKind = declared if declared in _PAGE_KINDS else "article"
        outlet = record.rec_headers.get_header(OUTLET_HEADER) or None
        lease = Lease(
            url=url,
            host=host_of(url),
            kind=kind,
            outlet=outlet,
            depth=1,
        )
        response = FetchResponse(
            url=url, final_url=url, status=status, headers=headers, body=body, text=text, encoding=encoding
        )
        result = self.processor.process(lease, response)
        if result.error is not None:
            self.report.skipped[result.error.kind] += 1
            return
        if result.teasers:
            for update in self.dedup.observe_listing(lease.host, result.teasers):
                self.index.update(update.doc_id, update.fields)
        doc = result.document
        if doc is None:
            self.report.skipped[f"not_an_article:{result.kind}"] += 1
            return
        if captured is not None and captured.tzinfo is not None:
            # The page as the crawl fetched it: its time to index counts from then, not from now.
            doc.fetched_at = doc.first_seen_at = captured
        outcome = self.dedup.process(doc)
        if outcome.action == "index":
            # An index that holds the story already keeps its first sighting (a later capture).
            self.index.upsert(doc, again=True)
            self.report.indexed += 1
        else:
            self.report.aliases += 1
        for update in outcome.updates:
            self.index.update(update.doc_id, update.fields)


def _captured(record: Any) -> datetime | None:
    value = record.rec_headers.get_header("WARC-Date")
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
