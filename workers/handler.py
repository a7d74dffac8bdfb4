"""What happens to one lease, from fetch to index: shared by the embedded engine and the Celery task.

:meth:`LeaseHandler.fetch` is the only asynchronous part (network I/O on the process's event
loop); :meth:`LeaseHandler.settle` is synchronous CPU and store work: parse and extract, report
to the frontier, deduplicate, index. The frontier hears of a URL only after its document is
written, so a crash loses nothing: the lease expires or is re-queued and the URL is fetched again.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from newscrawl.core import metrics
from newscrawl.core.document import Document
from newscrawl.core.errors import HTTPStatusError, InternalError, NewscrawlError, StoreError
from newscrawl.core.interfaces import Frontier, IndexBackend
from newscrawl.core.log import get_logger
from newscrawl.core.outage import Outage
from newscrawl.core.records import Lease, Outcome
from workers.archive import WarcArchive
from workers.dedup import DedupStage, DocUpdate
from workers.fetch import Fetcher, FetchResponse
from workers.health import HealthStore
from workers.pipeline import PageProcessor, PageResult, body_hash

log = get_logger("newscrawl.handler")

# How often a worker waiting inside the dedup decision renews its lock (its expiry is longer).
_LOCK_RENEW_S = 0.5

Fetched = FetchResponse | NewscrawlError


@dataclass
class CrawlStats:
    started_at: float = field(default_factory=time.monotonic)
    fetched: int = 0
    robots: int = 0
    bytes: int = 0
    articles: int = 0
    aliases: int = 0
    duplicates: int = 0
    corrections: int = 0
    not_modified: int = 0
    unchanged: int = 0
    discovered: int = 0
    # Stories fetched before, queued again because their feed or sitemap dated a change since,
    # and those of them indexed again (the same document, re-extracted).
    updates_queued: int = 0
    articles_updated: int = 0
    stale: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    # Set while every host fails alike (workers/handler.py NetworkWatch).
    diagnosis: str | None = None
    # An until-idle run that ended with work due later than it waits for (newscrawl/app/engine.py).
    left_for_later: dict[str, Any] | None = None
    by_kind: Counter[str] = field(default_factory=Counter)
    # CPU seconds per stage; fetch is what the event loop spent outside the other stages.
    cpu_s: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    def _totals(self) -> dict[str, int]:
        return {
            "pages_fetched": self.fetched,
            "robots_fetched": self.robots,
            "bytes": self.bytes,
            "articles_indexed": self.articles,
            "url_aliases": self.aliases,
            "duplicates_at_index_time": self.duplicates,
            "index_corrections": self.corrections,
            "not_modified": self.not_modified,
            "unchanged": self.unchanged,
            "discovered": self.discovered,
            "updates_queued": self.updates_queued,
            "articles_updated": self.articles_updated,
            "stale_leases": self.stale,
        }

    def counters(self) -> dict[str, int]:
        """Flat integer counters (what distributed workers add up in Redis)."""
        flat = self._totals()
        flat.update({f"error:{k}": v for k, v in self.errors.items()})
        flat.update({f"kind:{k}": v for k, v in self.by_kind.items()})
        flat.update({f"cpu_us:{k}": round(v * 1e6) for k, v in self.cpu_s.items()})
        return flat

    def as_dict(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started_at
        return {
            "elapsed_s": round(elapsed, 3),
            **self._totals(),
            "pages_by_kind": dict(self.by_kind),
            "errors": dict(self.errors),
            "cpu_s": {k: round(v, 4) for k, v in self.cpu_s.items()},
            **({"diagnosis": self.diagnosis} if self.diagnosis else {}),
            **({"left_for_later": self.left_for_later} if self.left_for_later else {}),
        }


# Failures that say "this machine reaches nobody" when every host shows them.
_NETWORK_KINDS = frozenset({"dns", "connect"})


@dataclass
class NetworkWatch:
    """Notices when every host fails alike (no network, a wrong proxy) and says so once.

    ``streak`` network failures in a row over at least ``min_hosts`` hosts, with no answer from
    any host in between, turn the watch on: one warning, and the per-URL failure lines drop to
    DEBUG until any host answers again (one line then too).
    """

    streak_needed: int = 10
    min_hosts: int = 5
    streak: int = 0
    hosts: set[str] = field(default_factory=set)
    kinds: Counter[str] = field(default_factory=Counter)
    down: bool = False

    def answered(self) -> None:
        if self.down:
            log.warning("network_back", after_failures=self.streak)
        self.streak, self.down = 0, False
        self.hosts.clear()
        self.kinds.clear()

    def failed(self, host: str, kind: str) -> None:
        if kind not in _NETWORK_KINDS:
            self.answered()  # an HTTP error or a bad page: the network itself works
            return
        self.streak += 1
        self.hosts.add(host)
        self.kinds[kind] += 1
        if not self.down and self.streak >= self.streak_needed and len(self.hosts) >= self.min_hosts:
            self.down = True
            log.warning(
                "all_hosts_unreachable",
                hosts=len(self.hosts),
                failures=self.streak,
                kinds=dict(self.kinds),
                hint="every host fails to resolve or connect: is there a network, or is the proxy right?",
            )

    def diagnosis(self) -> str | None:
        if not self.down:
            return None
        kind = self.kinds.most_common(1)[0][0]
        return (
            f"no host reachable: the last {self.streak} fetches over {len(self.hosts)} hosts"
            f" all failed ({kind})"
        )


@dataclass
class HandlerParts:
    """What a lease handler works with, built by the composition root for its process."""

    frontier: Frontier
    dedup: DedupStage
    index: IndexBackend
    processor: PageProcessor
    fetcher: Fetcher
    # Label fetch metrics by host (bounded only by the outlets list: settings.metrics.host_labels).
    host_labels: bool = False
    network: NetworkWatch = field(default_factory=NetworkWatch)
    # The stores' availability as this process sees it (newscrawl/core/outage.py).
    outage: Outage = field(default_factory=lambda: Outage("stores"))
    archive: WarcArchive | None = None
    health: HealthStore | None = None
    # Label the source-health metrics by outlet (outlets come from the outlets file: bounded).
    outlet_labels: bool = True


class LeaseHandler:
    def __init__(
        self,
        parts: HandlerParts,
        stats: CrawlStats | None = None,
        *,
        abort_on: tuple[type[BaseException], ...] = (),
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.parts = parts
        # Exceptions that end the whole batch (a task's time limit), never one URL's failure.
        self._abort_on = abort_on
        self.stats = stats if stats is not None else CrawlStats()
        self._host_labels = parts.host_labels
        self._sleep = sleep
        self._record_id: str | None = None

    def _count_fetch(self, lease: Lease, status: str) -> None:
        metrics.FETCHES.labels(status=status, host=lease.host if self._host_labels else "-").inc()

    async def fetch(self, lease: Lease) -> Fetched:
        try:
            return await self.parts.fetcher.fetch(
                lease.url, etag=lease.etag, last_modified=lease.last_modified
            )
        except NewscrawlError as exc:
            return exc
        except Exception as exc:  # a bug in the fetcher must fail this URL, not the batch
            log.error("internal_error", url=lease.url, error=repr(exc), exc_info=True)
            return InternalError(f"{type(exc).__name__}: {exc}", url=lease.url)

    def settle(self, lease: Lease, fetched: Fetched) -> None:
        """Take a fetch's result through the pipeline; an unexpected bug fails only this URL.

        A store that fails (Redis gone, a locked or full SQLite file) fails no URL: the page is
        kept in hand and settled again once the store answers (every write is idempotent).
        """
        outage = self.parts.outage
        self._record_id = self._archive(lease, fetched)
        while True:
            try:
                self._settle_once(lease, fetched)
            except self._abort_on:
                raise
            except StoreError as exc:
                self._sleep(outage.failed(exc))
                continue
            outage.recovered()
            return

    def _until_stored(self, write: Callable[[], object]) -> None:
        """An index write once the dedup stage has decided: tried again here, through the
        outage, because settling the page anew would not decide all its corrections again. The
        decision lock is kept meanwhile, so no later decision overtakes these writes."""
        self.parts.outage.call(write, sleep=self._sleep_in_decision)

    def _sleep_in_decision(self, seconds: float) -> None:
        while seconds > 0:
            self.parts.dedup.keep_alive()
            step = min(seconds, _LOCK_RENEW_S)
            self._sleep(step)
            seconds -= step

    def _archive(self, lease: Lease, fetched: Fetched) -> str | None:
        """Write the fetch to the WARC archive, once (a store outage may settle a page twice)."""
        archive = self.parts.archive
        if archive is None or isinstance(fetched, NewscrawlError):
            return None
        if fetched.not_modified or (lease.kind != "article" and lease.body_hash == body_hash(fetched.body)):
            archive.revisit(lease, url=fetched.final_url, status=fetched.status, headers=fetched.headers)
            return None
        return archive.fetched(
            lease, url=fetched.final_url, status=fetched.status, headers=fetched.headers, body=fetched.body
        )

    def _settle_once(self, lease: Lease, fetched: Fetched) -> None:
        try:
            self._settle(lease, fetched)
        except StoreError:
            raise
        except self._abort_on:
            raise
        except NewscrawlError as exc:
            log.warning("settle_failed", url=lease.url, kind=exc.kind, error=exc.message)
            self._fetch_failed(lease, exc)
        except Exception as exc:
            log.error("internal_error", url=lease.url, error=repr(exc), exc_info=True)
            self._fetch_failed(lease, InternalError(f"{type(exc).__name__}: {exc}", url=lease.url))

    def _settle(self, lease: Lease, fetched: Fetched) -> None:
        if isinstance(fetched, NewscrawlError):
            self._fetch_failed(lease, fetched)
            return
        self._count_fetch(lease, str(fetched.status))
        self.parts.network.answered()
        metrics.FETCHED_BYTES.inc(len(fetched.body))
        self.stats.bytes += len(fetched.body)
        if lease.kind == "robots":
            self.stats.robots += 1
            if fetched.text:
                # Before the rules are stored: a store error retries both, and adding twice is harmless.
                sources = self.parts.processor.robots_sitemaps(lease, fetched.text, fetched.final_url)
                if sources:
                    self.parts.frontier.add(sources, self.parts.frontier.now())
            self.parts.frontier.set_robots(lease.host, fetched.text or None, self.parts.frontier.now())
            return
        self.stats.fetched += 1
        if fetched.not_modified:
            self.stats.not_modified += 1
            self.parts.frontier.complete(lease, Outcome(status=304, changed=False), self.parts.frontier.now())
            return
        self._process(lease, fetched)

    def _fetch_failed(self, lease: Lease, exc: NewscrawlError) -> None:
        now = self.parts.frontier.now()
        self._count_fetch(lease, str(exc.status) if isinstance(exc, HTTPStatusError) else exc.kind)
        if isinstance(exc, HTTPStatusError) and exc.status in (429, 503):
            metrics.THROTTLED.labels(host=lease.host if self._host_labels else "-").inc()
        network = self.parts.network
        network.failed(lease.host, exc.kind)
        self.stats.diagnosis = network.diagnosis()
        if lease.kind == "robots":
            self.stats.robots += 1
            # What a failed robots.txt means (RFC 9309) is the frontier policy's to decide.
            self.parts.frontier.fail(lease, exc, now)
            return
        self.stats.fetched += 1
        self.stats.errors[exc.kind] += 1
        metrics.PAGE_ERRORS.labels(kind=exc.kind).inc()
        (log.debug if network.down else log.info)(
            "fetch_failed", url=lease.url, kind=exc.kind, error=exc.message
        )
        self.parts.frontier.fail(lease, exc, now)

    def _process(self, lease: Lease, response: FetchResponse) -> None:
        t0 = time.process_time()
        result = self.parts.processor.process(lease, response)
        t1 = time.process_time()
        self.stats.cpu_s["extract"] += result.extract_cpu_s
        self.stats.cpu_s["parse"] += t1 - t0 - result.extract_cpu_s
        now = self.parts.frontier.now()
        if result.error is not None:
            self.stats.errors[result.error.kind] += 1
            metrics.PAGE_ERRORS.labels(kind=result.error.kind).inc()
            if lease.kind == "article" and lease.outlet:
                self._extraction_failed(lease.outlet, now)
            log.info("page_failed", url=lease.url, kind=result.error.kind, error=result.error.message)
            self.parts.frontier.fail(lease, result.error, now)
            return
        new_articles = 0
        dated = [e.published_ts for e in result.entries if e.kind == "article" and e.published_ts is not None]
        if result.unchanged:
            self.stats.unchanged += 1
        else:
            self.stats.by_kind[result.kind or "other"] += 1
            metrics.PAGES.labels(kind=result.kind or "other").inc()
            new_articles = self._store(lease, result, now)
        self.parts.frontier.complete(
            lease,
            Outcome(
                status=response.status,
                final_url=response.final_url,
                kind=result.kind,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                body_hash=result.body_hash,
                new_articles=new_articles,
                changed=not result.unchanged,
                dated_links=len(dated),
                oldest_dated_ts=min(dated, default=None),
                keep_source=result.keep_source,
                live=result.live,
                coverage_end_ts=result.coverage_end_ts,
                coverage_start_ts=result.coverage_start_ts,
            ),
            now,
        )

    def _store(self, lease: Lease, result: PageResult, now: float) -> int:
        """Write what the page yielded; returns how many article links were new to the frontier."""
        t0 = time.process_time()
        new_articles = 0
        if result.entries:
            added = self.parts.frontier.add(result.entries, now)
            self.stats.discovered += added.added
            self.stats.updates_queued += added.updated
            new_articles = added.new_articles
        t1 = time.process_time()
        self.stats.cpu_s["frontier"] += t1 - t0
        doc = result.document
        if doc is None and not result.teasers:  # nothing to decide: no lock to take
            return new_articles
        prepared = self.parts.dedup.prepare(doc) if doc is not None else None  # before the lock
        # Decisions and the index writes they imply under one lock: a worker that decided later
        # cannot have its corrections overwritten by an earlier decision's slower writes.
        with self.parts.dedup.decision():
            updates: list[DocUpdate] = []
            if result.teasers:
                updates += self.parts.dedup.observe_listing(lease.host, result.teasers)
            outcome = self.parts.dedup.process(doc, prepared) if doc is not None else None
            t2 = time.process_time()
            self.stats.cpu_s["dedup"] += t2 - t1
            if doc is not None and outcome is not None:
                if outcome.action == "index":
                    again = outcome.again
                    self._until_stored(lambda: self.parts.index.upsert(doc, again=again))
                updates += outcome.updates
            for update in updates:
                self._until_stored(partial(self.parts.index.update, update.doc_id, update.fields))
        if doc is not None and outcome is not None:
            if outcome.action == "index" and outcome.again:
                self.stats.articles_updated += 1  # a story read again: no new article, no freshness sample
                metrics.DEDUP.labels(outcome="updated").inc()
            elif outcome.action == "index":
                self._new_article(doc, now)
                self.stats.articles += 1
                self.stats.duplicates += doc.duplicate_of is not None
                metrics.DEDUP.labels(outcome="duplicate" if doc.duplicate_of else "story").inc()
            else:
                self.stats.aliases += 1
                metrics.DEDUP.labels(outcome="url_alias").inc()
            if self.parts.archive is not None:
                self.parts.archive.metadata(doc.url, _metadata(doc, outcome.action), self._record_id)
        self.stats.corrections += len(updates)
        self.stats.cpu_s["index"] += time.process_time() - t2
        return new_articles

    # --- source health ------------------------------------------------------------------------

    def _outlet_label(self, outlet: str) -> str:
        return outlet if self.parts.outlet_labels else "-"

    def _new_article(self, doc: Document, now: float) -> None:
        if doc.published_at is not None:
            metrics.TIME_TO_INDEX.observe(max(now - doc.published_at.timestamp(), 0.0))
        if not doc.outlet:
            return
        label = self._outlet_label(doc.outlet)
        metrics.OUTLET_ARTICLES.labels(outlet=label).inc()
        metrics.OUTLET_BODY_CHARS.labels(outlet=label).observe(len(doc.body))
        metrics.OUTLET_LAST_ARTICLE.labels(outlet=label).set(now)
        if self.parts.health is not None:
            self.parts.health.article(doc.outlet, len(doc.body), now)

    def _extraction_failed(self, outlet: str, now: float) -> None:
        metrics.OUTLET_FAILURES.labels(outlet=self._outlet_label(outlet)).inc()
        if self.parts.health is not None:
            self.parts.health.failed(outlet, now)


def _metadata(doc: Document, action: str) -> dict[str, Any]:
    """What the archive keeps of an article beside its response: key fields, the dedup decision."""
    return {
        "id": doc.id,
        "url": doc.url,
        "canonical_url": doc.canonical_url,
        "title": doc.title,
        "authors": doc.authors,
        "published_at": doc.published_at.isoformat() if doc.published_at else None,
        "language": doc.language,
        "body_chars": len(doc.body),
        "dedup": {"action": action, "duplicate_of": doc.duplicate_of},
    }
