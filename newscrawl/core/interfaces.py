"""The component interfaces: what each role offers the others, and what the app wires together.

A role depends on these protocols, never on another role's implementation; the composition root
(``newscrawl/app/factory.py``) picks the implementations from settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from newscrawl.core.document import Document
from newscrawl.core.errors import NewscrawlError
from newscrawl.core.records import AddResult, FrontierEntry, Lease, Link, Outcome


@dataclass(frozen=True)
class SearchQuery:
    text: str
    outlet: str | None = None
    since: datetime | None = None
    language: str | None = None  # ISO 639-1, as detected at extraction ("de")
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
    def upsert(self, document: Document, *, again: bool = False) -> None:
        """Insert or replace the document with this id (idempotent). A document already indexed
        keeps its ``first_seen_at`` (a story fetched again is no new sighting); ``again`` says it
        probably is indexed (the page was decided on before), for an engine that writes it then
        as a partial update."""

    def update(self, doc_id: str, fields: dict[str, Any]) -> None:
        """Set some fields of an indexed document (no-op when it is not indexed)."""

    def get(self, doc_id: str) -> Document | None: ...

    def search(self, query: SearchQuery) -> list[SearchHit]: ...

    def export(self) -> Iterator[Document]: ...

    def count(self, include_duplicates: bool = True) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class UrlView:
    """A URL's place in the frontier, as every backend reports it (for tests and inspection)."""

    state: str  # queued | leased
    due_at: float
    attempts: int


@dataclass(frozen=True)
class HostView:
    next_fetch_at: float
    in_flight: int
    backoff_level: int
    robots_attempts: int


class Frontier(Protocol):
    """The seen-URL filter, priorities, due times and per-host politeness state.

    A *lease* hands one URL to a fetcher; the fetcher reports back with :meth:`complete` or
    :meth:`fail`. A host whose robots.txt is unknown yields a ``robots`` lease first. A lease not
    reported within the lease timeout is queued again, and a report for it afterwards is ignored.
    """

    def now(self) -> float:
        """The wall clock its due times and leases count in: every ``now`` passed to it.

        Every process sharing a frontier must read the same clock, or their skew shortens
        politeness gaps and expires live leases (the Redis frontier's is the Redis server's).
        """

    def add(self, entries: list[FrontierEntry], now: float) -> AddResult:
        """Queue URLs not seen before; a URL seen before is left as it is."""

    def lease(self, now: float, limit: int, *, fetched_before: float | None = None) -> list[Lease]:
        """Up to ``limit`` URLs whose time has come on hosts that may be fetched now.

        With ``fetched_before``, URLs fetched at or after that time are not leased again: a crawl
        that runs until idle makes one pass and does not chase its own revisits.
        """

    def complete(self, lease: Lease, outcome: Outcome, now: float) -> None:
        """The fetch succeeded (2xx or 304): schedule a revisit or retire the URL."""

    def fail(self, lease: Lease, error: NewscrawlError, now: float) -> None:
        """The fetch failed: retry with back-off or record the error for good."""

    def set_robots(self, host: str, text: str | None, now: float, *, reachable: bool = True) -> None:
        """Store a host's robots.txt (None: none, everything allowed)."""

    def pending(self, now: float, *, fetched_before: float | None = None) -> int:
        """URLs in flight, never fetched (new or retrying), or due for a revisit not yet made
        since ``fetched_before``."""

    def next_wakeup(self, now: float, *, fetched_before: float | None = None) -> float | None:
        """When the next lease may become possible (None: nothing is queued); with
        ``fetched_before``, as ``lease`` sees it then (revisits made since do not count)."""

    def in_flight(self) -> int:
        """Leases handed out and not reported back yet."""

    def claim(self, leases: list[Lease], runner: str, now: float | None = None) -> list[bool]:
        """Whether ``runner`` may work on each lease: still its holder's (not expired and handed
        to someone else) and not started by another runner; the first runner to ask gets it, so
        a task the broker delivers twice is worked on once. With ``now``, the leases claimed are
        renewed in the same step (as ``renew``): one that expired while its task waited in the
        queue cannot be handed out again between the claim and the first heartbeat."""

    def renew(self, leases: list[Lease], now: float) -> int:
        """Heartbeat: each lease still held gets ``lease_timeout_s`` from ``now``; returns how many."""

    def errors(self, final_only: bool = True) -> list[dict[str, Any]]:
        """Error records {url, kind, message, at, final}, oldest first."""

    def url_view(self, url: str) -> UrlView | None:
        """Where a queued or leased URL stands (None: unknown, done or failed for good)."""

    def host_view(self, host: str) -> HostView | None: ...

    def stats(self) -> dict[str, object]:
        """Counts for ``newscrawl stats`` and the crawl summary."""

    def close(self) -> None: ...


class LinkPolicy(Protocol):
    """Which links found on a page become which frontier entries (the scheduler's discovery rules)."""

    def outlet_for(self, url: str) -> str | None:
        """The name of the outlet a URL belongs to, if any."""

    def in_scope(self, outlet_name: str | None, url: str) -> bool:
        """Whether ``url`` is on the outlet's hosts and paths (True without an outlet)."""

    def is_article(self, outlet_name: str | None, url: str) -> bool: ...

    def lists_for(self, outlet_name: str | None, links: list[Link], sitemap_url: str) -> bool:
        """Whether a sitemap served off the outlet's hosts lists its pages (or, an index,
        sitemaps on its own host): else it is another site's."""

    def entries(
        self,
        links: list[Link],
        *,
        outlet_name: str | None,
        depth: int,
        referrer: str,
        source: str,
        previous_visit_ts: float | None = None,
    ) -> list[FrontierEntry]: ...
