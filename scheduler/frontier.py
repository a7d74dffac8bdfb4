"""The frontier interface: what every backend (embedded SQLite, Redis) offers the engine.

The frontier owns the seen-URL filter, priorities, due times and per-host politeness state.
A *lease* hands one URL to a fetcher; the fetcher reports back with :meth:`Frontier.complete` or
:meth:`Frontier.fail`. A host whose robots.txt is unknown yields a ``robots`` lease first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from newscrawl.errors import NewscrawlError
from newscrawl.settings import FrontierSettings
from scheduler.urls import is_fetchable

UrlKind = Literal["feed", "sitemap", "listing", "article", "robots"]

# Lower runs first: feeds and sitemaps name the newest articles, listings come next.
PRIORITY: dict[str, int] = {"robots": 0, "feed": 1, "sitemap": 1, "listing": 2, "article": 3}
REVISITED_KINDS = frozenset({"feed", "sitemap", "listing"})


@dataclass(frozen=True)
class FrontierEntry:
    url: str
    kind: UrlKind
    outlet: str | None = None
    depth: int = 0
    # Publication time announced by a feed or sitemap: articles run newest first.
    published_ts: float | None = None
    referrer: str | None = None


@dataclass(frozen=True)
class Lease:
    url: str
    host: str
    kind: UrlKind
    outlet: str | None
    depth: int
    attempts: int = 0
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    # When the shared frontier handed it out: a report for an expired lease is ignored.
    leased_at: float | None = None
    # When it became due (its host's turn came later: the politeness wait).
    due_at: float | None = None


def lease_to_json(lease: Lease) -> dict[str, Any]:
    """A lease as a task argument (JSON)."""
    return asdict(lease)


def lease_from_json(data: dict[str, Any]) -> Lease:
    return Lease(**data)


@dataclass(frozen=True)
class Outcome:
    """What a successful fetch tells the frontier."""

    status: int
    final_url: str | None = None
    kind: UrlKind | None = None  # the kind the page turned out to be
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass
class AddResult:
    added: int = 0
    known: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


def refusal(entry: FrontierEntry, limits: FrontierSettings) -> str | None:
    """Why ``entry`` may not enter any frontier (trap limits), or None."""
    reason = is_fetchable(entry.url, limits.max_url_length)
    if reason is None and entry.depth > limits.max_depth:
        reason = "too_deep"
    return reason


class Frontier(Protocol):
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

    def next_wakeup(self, now: float) -> float | None:
        """When the next lease may become possible (None: nothing is queued)."""

    def stats(self) -> dict[str, object]:
        """Counts for ``newscrawl stats`` and the crawl summary."""

    def close(self) -> None: ...
