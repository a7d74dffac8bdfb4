"""The frontier's policy: every decision about a URL or a host, made once for every backend.

The SQLite and the Redis frontier store state and apply these decisions atomically; they decide
nothing themselves. What they need to apply a decision inside one transaction or one Lua script
(a back-off schedule by level, a host's delay, a robots.txt lifetime) comes from here as numbers.

Decisions:

- which entries may enter at all (trap limits), their priority and order (newest first);
- after a fetch: revisit (feeds, sitemaps, listings) or retire;
- after a failure: retry (transient, attempts left), revisit (a revisited source that worked
  before), or fail for good; a 429/503 also rests the host on an exponential schedule;
- robots.txt: how long it is trusted, how many failed fetches before the host is crawled as if it
  had none, and what a failure means (RFC 9309: unreachable means "disallow all for now");
- the delay between two fetches from one host.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from newscrawl.core.errors import HTTPStatusError, NewscrawlError, StoreError, TaskTimeLimit
from newscrawl.core.interfaces import Frontier
from newscrawl.core.records import AddResult, FrontierEntry, Lease, Outcome, UrlKind
from newscrawl.core.settings import Settings
from newscrawl.core.urls import is_fetchable
from scheduler.outlets import Outlet
from scheduler.politeness import backoff_s, host_delay_s, robots_agent

# Lower runs first: feeds and sitemaps name the newest articles, listings come next.
PRIORITY: dict[str, int] = {"robots": 0, "feed": 1, "sitemap": 1, "listing": 2, "article": 3}
REVISITED_KINDS = frozenset({"feed", "sitemap", "listing"})
# After this many failed robots.txt fetches (5xx, 429, network) a host is crawled as if it had none.
ROBOTS_MAX_ATTEMPTS = 3
# Back-off levels beyond this rest as long as the last one (the schedule has reached its cap).
_MAX_BACKOFF_LEVELS = 32
THROTTLE_STATUSES = frozenset({429, 503})

OUR_SIDE_ERRORS = (StoreError, TaskTimeLimit)

FailureMode = Literal["retry", "revisit", "final"]


@dataclass(frozen=True)
class AfterSuccess:
    kind: UrlKind
    priority: int
    revisit: bool
    due_at: float  # the revisit's due time (now when the URL is retired)


@dataclass(frozen=True)
class AfterFailure:
    mode: FailureMode
    attempts: int  # the attempt count the URL keeps
    # retry: the earliest due time, before the host's own rest (the backend takes the later);
    # revisit: the due time; final: now.
    due_at: float
    throttled: bool
    # The host's rest by back-off level (index 0 = level 1), used when ``throttled``.
    backoff_schedule_s: tuple[float, ...]
    status: int | None

    def throttle_wait_s(self, level: int) -> float:
        return self.backoff_schedule_s[min(max(level, 1), len(self.backoff_schedule_s)) - 1]


@dataclass(frozen=True)
class AfterRobotsFailure:
    retry: bool  # try robots.txt again later (the host waits); else crawl it as if it had none
    attempts: int
    wait_s: float


class FrontierPolicy:
    """Decisions from settings; one instance per frontier."""

    def __init__(self, settings: Settings, revisit_intervals: dict[str, float] | None = None) -> None:
        self.settings = settings
        self.limits = settings.frontier
        self.politeness = settings.politeness
        self._revisit = revisit_intervals or {}
        self.robots_agent = robots_agent(settings.fetch.user_agent)
        # Numbers the backends apply inside their transactions and scripts.
        self.respect_robots = self.politeness.respect_robots
        self.robots_ttl_s = self.politeness.robots_ttl_s
        self.per_host_concurrency = self.politeness.per_host_concurrency
        self.lease_timeout_s = self.limits.lease_timeout_s
        self.host_page_budget = self.limits.host_page_budget
        self.errors_kept = self.limits.errors_kept

    @classmethod
    def for_outlets(cls, settings: Settings, outlets: Iterable[Outlet]) -> FrontierPolicy:
        intervals = {o.name: o.revisit_interval_s for o in outlets if o.revisit_interval_s}
        return cls(settings, intervals)

    # --- entering -----------------------------------------------------------------------------

    def refusal(self, entry: FrontierEntry) -> str | None:
        """Why ``entry`` may not enter the frontier (trap limits), or None."""
        reason = is_fetchable(entry.url, self.limits.max_url_length)
        if reason is None and entry.depth > self.limits.max_depth:
            reason = "too_deep"
        return reason

    def admissible(self, entries: Iterable[FrontierEntry], result: AddResult) -> Iterator[FrontierEntry]:
        """The entries that may enter; each refusal is counted on ``result``."""
        for entry in entries:
            reason = self.refusal(entry)
            if reason is None:
                yield entry
            else:
                result.reject(reason)

    @staticmethod
    def priority(kind: str) -> int:
        return PRIORITY[kind]

    @staticmethod
    def sort_key(entry: FrontierEntry, now: float) -> float:
        """Within a priority, the larger runs first: announced publication time, else discovery."""
        return entry.published_ts if entry.published_ts is not None else now

    # --- delays -------------------------------------------------------------------------------

    def host_delay_s(self, crawl_delay_s: float | None) -> float:
        return host_delay_s(self.politeness, crawl_delay_s)

    @property
    def default_delay_s(self) -> float:
        """A host's delay before its robots.txt names a Crawl-delay."""
        return self.host_delay_s(None)

    def backoff_schedule_s(self, retry_after_s: float | None) -> tuple[float, ...]:
        waits: list[float] = []
        for level in range(1, _MAX_BACKOFF_LEVELS + 1):
            waits.append(backoff_s(self.politeness, level, retry_after_s))
            if len(waits) > 1 and waits[-1] == waits[-2]:
                break
        return tuple(waits)

    def revisit_interval_s(self, outlet: str | None) -> float:
        return self._revisit.get(outlet or "", self.limits.revisit_interval_s)

    # --- reports ------------------------------------------------------------------------------

    def after_success(self, lease: Lease, outcome: Outcome, now: float) -> AfterSuccess:
        kind = outcome.kind or lease.kind
        revisit = kind in REVISITED_KINDS
        due = now + self.revisit_interval_s(lease.outlet) if revisit else now
        return AfterSuccess(kind, PRIORITY[kind], revisit, due)

    def after_failure(
        self, lease: Lease, error: NewscrawlError, now: float, *, fetched_before: bool
    ) -> AfterFailure:
        attempts = lease.attempts + 1
        status = error.status if isinstance(error, HTTPStatusError) else None
        throttled = status in THROTTLE_STATUSES
        retry_after = error.retry_after_s if isinstance(error, HTTPStatusError) else None
        mode: FailureMode
        if error.transient and attempts < self.limits.max_attempts:
            mode, due = "retry", now + self.politeness.backoff_base_s * attempts
        elif lease.kind in REVISITED_KINDS and fetched_before:
            # A feed that fails today is still worth a visit on its next interval.
            mode, attempts, due = "revisit", 0, now + self.revisit_interval_s(lease.outlet)
        else:
            mode, due = "final", now
        return AfterFailure(
            mode=mode,
            attempts=attempts,
            due_at=due,
            throttled=throttled,
            backoff_schedule_s=self.backoff_schedule_s(retry_after) if throttled else (0.0,),
            status=status,
        )

    def after_robots_failure(self, attempts_before: int) -> AfterRobotsFailure:
        attempts = attempts_before + 1
        if attempts < ROBOTS_MAX_ATTEMPTS:
            return AfterRobotsFailure(True, attempts, backoff_s(self.politeness, attempts, None))
        return AfterRobotsFailure(False, 0, 0.0)

    @staticmethod
    def robots_unreachable(error: NewscrawlError) -> bool:
        """RFC 9309: 4xx means no robots.txt, 5xx and 429 mean "unreachable, assume disallow".

        A failure on our side (a store, a task's time limit) says nothing about the site: the
        robots.txt fetch is tried again. Any other failure (no such host, refused connection) lets
        the host's own URLs fail on their own.
        """
        if isinstance(error, HTTPStatusError):
            return error.status >= 500 or error.status == 429
        return isinstance(error, OUR_SIDE_ERRORS)


def robots_lease(host: str, scheme: str, now: float) -> Lease:
    """The lease that fetches a host's robots.txt, before any other URL of the host."""
    return Lease(
        url=f"{scheme}://{host}/robots.txt", host=host, kind="robots", outlet=None, depth=0, leased_at=now
    )


def seed_entries(outlets: Iterable[Outlet]) -> list[FrontierEntry]:
    """Every outlet's home and section pages, feeds and sitemaps."""
    return [
        FrontierEntry(url=url, kind=kind, outlet=o.name)  # type: ignore[arg-type]
        for o in outlets
        for url, kind in o.seeds()
    ]


def seed(frontier: Frontier, outlets: Iterable[Outlet], now: float) -> int:
    """Queue the outlets' seeds (known ones keep their schedule); returns how many were new."""
    return frontier.add(seed_entries(outlets), now).added
