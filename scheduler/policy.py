"""The frontier's policy: every decision about a URL or a host, made once for every backend.

The SQLite and the Redis frontier store state and apply these decisions atomically; they decide
nothing themselves. What they need to apply a decision inside one transaction or one Lua script
(a back-off schedule by level, a host's delay, a robots.txt lifetime) comes from here as numbers.

Decisions:

- which entries may enter at all (trap limits), their priority and order (newest first);
- after a fetch: revisit (feeds, sitemaps, listings) or retire, and when: a source's interval
  adapts to the new article links it yields (:class:`RevisitSchedule`);
- after a failure: retry (transient, attempts left), revisit (a revisited source that worked
  before), or fail for good; a 429/503 also rests the host on an exponential schedule;
- robots.txt: how long it is trusted, how many failed fetches before the host is crawled as if it
  had none, and what a failure means (RFC 9309: unreachable means "disallow all for now");
- the delay between two fetches from one host.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from newscrawl.core.errors import (
    ConnectError,
    FetchTimeout,
    HTTPStatusError,
    NewscrawlError,
    StoreError,
    TaskTimeLimit,
    WorkerLost,
)
from newscrawl.core.interfaces import Frontier
from newscrawl.core.records import AddResult, FrontierEntry, Lease, Outcome, UrlKind
from newscrawl.core.settings import FrontierSettings, Settings
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
# A host that refuses connections, does not resolve or does not answer in time is backed off as
# one that says 429: it is down or overloaded, and its other URLs would fail the same way.
UNREACHABLE_ERRORS = (ConnectError, FetchTimeout)

OUR_SIDE_ERRORS = (StoreError, TaskTimeLimit)

FailureMode = Literal["retry", "revisit", "final"]


@dataclass(frozen=True)
class SourceState:
    """What a revisited source's schedule keeps between visits."""

    interval_s: float
    last_new_at: float
    # The decayed count of new links and the decayed span; None while the source has shown no rate.
    new_ewma: float | None = None
    span_ewma: float | None = None


@dataclass(frozen=True)
class AfterSuccess:
    kind: UrlKind
    priority: int
    revisit: bool
    due_at: float  # the revisit's due time (now when the URL is retired)
    source: SourceState | None = None  # a revisited source's schedule from now on
    live_until: float | None = None  # a live blog's: until when it is fetched again
    live_capped: bool = False  # a live blog read once: its host has live_max_per_host followed


class RevisitSchedule:
    """When a source (listing page, feed, sitemap) is visited next, from what it yielded.

    Only *new* article links count: links no source of any outlet had found before (the
    frontier's seen filter says so). A feed that names an article first is no reason to poll the
    sitemap sooner, and the source that finds an outlet's news first is the one polled most.

    - The source's rate of new links is a decayed count over a decayed span (time constant
      ``memory_s``), and the interval aims at ``target_new`` new links per visit: a source that
      publishes every two minutes is visited every minute, a quiet one rarely.
    - A visit that brings (1/shrink)**k times more new links than the rate so far expected (k up
      to 4) also shrinks the interval by ``shrink**k``: a quiet source that starts a burst is
      followed within a visit or two, a steady one keeps its pace.
    - An empty visit (a 304, an unchanged body, only known links) grows it by ``grow``, up to what
      the rate asks for. A source silent for ``silence_after_s`` (an hour) waits at least
      T / ``silence_ratio`` from then on (T its silence: 10 minutes after an hour); a shorter lull
      is the rate's to judge, so an outlet that publishes in bursts is still looked at at its
      pace when the next burst comes.
    - A source that has not yet shown a rate (only a first visit without dates, then nothing
      new) holds its interval while its body does not change, and waits at least
      T / ``silence_ratio`` from the start: with no news the expected rate falls as 1/T, so the
      interval grows with the silence, not by a factor per visit, which would put a quiet outlet
      that wakes up 10 minutes later out of sight for as long. One whose body changes but only
      repeats what other sources found (a feed's sitemap) grows by ``grow`` as before.
    - Intervals stay within [min_s, max_s]. Politeness is not decided here: a due source still
      waits for its host's turn (delay, Crawl-delay, back-off).
    """

    _MAX_SHRINK_STEPS = 4

    def __init__(self, limits: FrontierSettings) -> None:
        self.adaptive = limits.revisit == "adaptive"
        self.first_s = limits.revisit_interval_s
        self.min_s = limits.revisit_min_s
        self.max_s = limits.revisit_max_s
        self.target_new = limits.revisit_target_new
        self.memory_s = limits.revisit_memory_s
        self.shrink = limits.revisit_shrink
        self.grow = limits.revisit_grow
        self.silence_ratio = limits.revisit_silence_ratio
        self.silence_after_s = limits.revisit_silence_after_s

    def after_visit(self, lease: Lease, outcome: Outcome, now: float) -> SourceState:
        new = outcome.new_articles if outcome.changed else 0
        last_new = now if new else (lease.last_new_at if lease.last_new_at is not None else now)
        if not self.adaptive:
            return SourceState(self.first_s, last_new)
        if lease.interval_s is None or lease.fetched_at is None:
            return self._first_visit(outcome, now, last_new)
        if lease.new_ewma is None and not new:
            # Still no rate shown: the interval grows with the silence (see the class docstring).
            held = lease.interval_s * (self.grow if outcome.changed else 1.0)
            return SourceState(self._bounded(max(held, (now - last_new) / self.silence_ratio)), last_new)
        elapsed = max(now - lease.fetched_at, 1.0)
        keep = math.exp(-elapsed / self.memory_s)
        before_count, before_span = (lease.new_ewma or 0.0) * keep, (lease.span_ewma or 0.0) * keep
        if lease.new_ewma is None and lease.last_new_at is not None:
            # The first news of a source that had shown no rate: it came over all the time watched.
            before_span = max(lease.fetched_at - lease.last_new_at, 0.0)
        count, span = before_count + new, before_span + elapsed
        by_rate = self.target_new * span / count if count > 0 else math.inf
        if new:
            interval = min(
                by_rate,
                lease.interval_s * self.shrink ** self._surprise(new, before_count, before_span, elapsed),
            )
        else:
            interval = min(by_rate, lease.interval_s * self.grow)
            if now - last_new >= self.silence_after_s:
                interval = max(interval, (now - last_new) / self.silence_ratio)
        return SourceState(self._bounded(interval), last_new, count, span)

    def _surprise(self, new: int, count: float, span: float, elapsed: float) -> int:
        """How many times 1/shrink more new links came than the rate so far expected (a burst)."""
        expected = count / span * elapsed if span > 0 else 0.0
        if expected <= 0:
            return self._MAX_SHRINK_STEPS
        steps = math.floor(math.log(new / expected) / math.log(1 / self.shrink))
        return min(max(steps, 0), self._MAX_SHRINK_STEPS)

    def _bounded(self, interval_s: float) -> float:
        return min(max(interval_s, self.min_s), self.max_s)

    def _first_visit(self, outcome: Outcome, now: float, last_new: float) -> SourceState:
        """A first visit finds everything new: that says nothing of a rate, but dates do.

        A feed or sitemap that lists n dated articles, the oldest from T seconds ago, has been
        publishing about n per T: the starting rate. Other sources start at ``first_s``, with no
        rate shown (``new_ewma`` None), unless all they list was known: then a rate of none so far.
        """
        if outcome.dated_links < 2 or outcome.oldest_dated_ts is None:
            if outcome.changed and not outcome.new_articles:
                # Everything it lists another source had found: its rate so far is none.
                return SourceState(self.first_s, last_new, 0.0, 0.0)
            return SourceState(self.first_s, last_new)
        span = max(now - outcome.oldest_dated_ts, self.min_s)
        count = float(outcome.dated_links)
        return SourceState(self._bounded(self.target_new * span / count), last_new, count, span)


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


@dataclass(frozen=True)
class Refetch:
    """A seen story's feed or sitemap dates a change: when, and how old its last fetch must be."""

    modified_ts: float
    gap_s: float


@dataclass(frozen=True)
class HeadlineRecord:
    """The headline a source last showed a story under (digests), and when one first showed it."""

    source: str
    headline: str
    first_ts: float

    def encode(self) -> str:
        return f"{self.source}:{self.headline}:{self.first_ts:.0f}"

    @classmethod
    def decode(cls, value: str | bytes | None) -> HeadlineRecord | None:
        if value is None:
            return None
        text = value.decode() if isinstance(value, bytes) else value
        source, headline, first = text.split(":")
        return cls(source, headline, float(first))


def source_tag(url: str | None) -> str:
    """A short digest of the page that listed a story: only that page's headlines are compared."""
    return hashlib.blake2b((url or "").encode("utf-8"), digest_size=4).hexdigest()


class FrontierPolicy:
    """Decisions from settings; one instance per frontier."""

    def __init__(self, settings: Settings, revisit_intervals: dict[str, float] | None = None) -> None:
        self.settings = settings
        self.limits = settings.frontier
        self.politeness = settings.politeness
        self._revisit = revisit_intervals or {}
        self.schedule = RevisitSchedule(self.limits)
        self.robots_agent = robots_agent(settings.fetch.user_agent)
        # Numbers the backends apply inside their transactions and scripts.
        self.respect_robots = self.politeness.respect_robots
        self.robots_ttl_s = self.politeness.robots_ttl_s
        self.per_host_concurrency = self.politeness.per_host_concurrency
        self.lease_timeout_s = self.limits.lease_timeout_s
        self.host_page_budget = self.limits.host_page_budget
        self.host_budget_window_s = self.limits.host_budget_window_s
        self.retry_rounds = self.limits.retry_rounds
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

    def refetch_after(self, entry: FrontierEntry, now: float) -> Refetch | None:
        """When ``entry`` says its story changed, if that may have a fetched story fetched again:
        a story, refetching on, a change dated within ``refetch_max_age_s`` and not in the future
        (beyond the clocks' slack). None: a story the frontier has seen stays as it is.

        The gap its last fetch must be old: ``refetch_min_gap_s``, or ``refetch_gap_share`` of
        the story's age when its publication is dated apart: a story changes most while it
        develops, and one that keeps being re-dated is fetched ever less often (about fifteen
        times over two days at most), not every gap."""
        modified = entry.modified_ts
        limits = self.limits
        if entry.kind != "article" or modified is None or limits.refetch_min_gap_s is None:
            return None
        if not now - limits.refetch_max_age_s <= modified <= now + limits.refetch_clock_slack_s:
            return None
        gap = limits.refetch_min_gap_s
        published = entry.published_ts
        if published is not None and published < modified:
            gap = max(gap, limits.refetch_gap_share * (now - published))
        return Refetch(modified, gap)

    def watches_headline(self, entry: FrontierEntry) -> bool:
        """Whether ``entry``'s headline is compared with the one its story was listed under."""
        limits = self.limits
        return (
            entry.headline is not None
            and entry.kind == "article"
            and limits.headline_refetch
            and limits.refetch_min_gap_s is not None
        )

    def headline_refetch(
        self, entry: FrontierEntry, record: HeadlineRecord | None, now: float
    ) -> tuple[HeadlineRecord | None, Refetch | None]:
        """What ``entry``'s headline says against the ``record`` kept for its story: the record
        to keep (None: leave it) and, when the page that first listed the story now shows it under
        another headline, the change that has it fetched again (:meth:`refetch_due`), dated at the
        page's previous visit (it showed the old headline then; a fetch after it, asked for by a
        sitemap, has the change), or now when that is unknown.

        A home page or a feed without ``<updated>`` dates no change, but an editor rewrites the
        headline of a story that developed. Only the first page's headlines count (a section or a
        feed words the same story differently), and only within ``refetch_max_age_s`` of its
        first listing; the gap grows with the story's age as for a dated change, so a headline
        tested in turns (A/B) has it fetched about fifteen times in two days, not every visit.
        The record of a change is kept unless the change waits (:meth:`headline_waits`)."""
        limits = self.limits
        if entry.headline is None or limits.refetch_min_gap_s is None or not self.watches_headline(entry):
            return None, None
        source = source_tag(entry.referrer)
        if record is None:
            return HeadlineRecord(source, entry.headline, now), None
        if record.source != source or record.headline == entry.headline:
            return None, None
        if now - record.first_ts > limits.refetch_max_age_s:
            return None, None
        start = record.first_ts if entry.published_ts is None else min(entry.published_ts, record.first_ts)
        gap = max(limits.refetch_min_gap_s, limits.refetch_gap_share * (now - start))
        changed = now if entry.previous_visit_ts is None else entry.previous_visit_ts
        return HeadlineRecord(source, entry.headline, record.first_ts), Refetch(changed, gap)

    def headline_waits(self, fetched_at: float | None, change: Refetch | None, now: float) -> bool:
        """A headline change the story's last fetch predates, too soon after that fetch to act
        on: the old record stays, so that a later visit showing the new headline acts on it."""
        return (
            fetched_at is not None
            and change is not None
            and change.modified_ts > fetched_at + self.limits.refetch_clock_slack_s
            and now - fetched_at < change.gap_s
        )

    def refetch_due(self, fetched_at: float | None, refetch: Refetch | None, now: float) -> bool:
        """A story fetched at ``fetched_at`` is fetched again: it changed (``refetch``, from
        :meth:`refetch_after`) later than that, and the last fetch is the gap old. The Redis
        frontier's add.lua decides the same in its script."""
        return (
            fetched_at is not None
            and refetch is not None
            and refetch.modified_ts > fetched_at + self.limits.refetch_clock_slack_s
            and now - fetched_at >= refetch.gap_s
        )

    def budget_window(self, now: float) -> int:
        """The host budget's current window: a host's count of new URLs starts again in each."""
        return int(now // self.host_budget_window_s)

    @staticmethod
    def sort_key(entry: FrontierEntry, now: float) -> float:
        """Within a priority, the larger runs first (newest first).

        The publication time a feed or sitemap announced, else the time of discovery, less a
        millisecond per place down the page (a listing's top teaser is its newest).
        """
        if entry.published_ts is not None:
            return entry.published_ts
        return now - entry.position * 1e-3

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
        """A source's interval before anything is known of it (or the outlet's fixed one)."""
        return self._revisit.get(outlet or "", self.limits.revisit_interval_s)

    def _next_visit(self, lease: Lease, outcome: Outcome, now: float) -> SourceState:
        state = self.schedule.after_visit(lease, outcome, now)
        pinned = self._revisit.get(lease.outlet or "")
        return state if pinned is None else SourceState(pinned, state.last_new_at)

    # --- reports ------------------------------------------------------------------------------

    @property
    def budgeted(self) -> bool:
        """Whether the backend must tell ``after_success`` the sources' demand."""
        return self.limits.source_budget_per_min is not None

    def budget_stretch(self, demand_per_s: float) -> float:
        """How much longer every source waits so that all of them keep to the budget.

        ``demand_per_s``: the visits a second the sources ask for (the sum of 1/interval).
        """
        budget = self.limits.source_budget_per_min
        if budget is None:
            return 1.0
        return max(1.0, demand_per_s / (budget / 60.0))

    def after_success(
        self,
        lease: Lease,
        outcome: Outcome,
        now: float,
        *,
        source_demand_per_s: float = 0.0,
        live_on_host: int = 0,
    ) -> AfterSuccess:
        """``live_on_host``: the host's other live blogs followed now, where
        ``counts_live_blogs`` asked the backend for them."""
        kind = outcome.kind or lease.kind
        if kind == "article":
            live_until = self.live_until(lease, outcome, now)
            cap = self.limits.live_max_per_host
            room = lease.live_until is not None or cap is None or live_on_host < cap
            if live_until is not None and self.limits.live_refetch_s is not None:
                if room:
                    return AfterSuccess(
                        kind, PRIORITY[kind], True, now + self.limits.live_refetch_s, None, live_until
                    )
                return AfterSuccess(kind, PRIORITY[kind], False, now, live_capped=True)
        if kind not in REVISITED_KINDS:
            return AfterSuccess(kind, PRIORITY[kind], False, now)
        if lease.section_on_trial and not (outcome.keep_source and outcome.changed):
            # Not a section yet (an unchanged page still lists too little): a continuous crawl
            # looks again, ever less often; a section still nearly empty when found fills up.
            return AfterSuccess(kind, PRIORITY[kind], True, now + self.section_recheck_s(lease, now))
        if not outcome.keep_source:
            return AfterSuccess(kind, PRIORITY[kind], False, now)
        state = self._next_visit(lease, outcome, now)
        wait = state.interval_s * self.budget_stretch(source_demand_per_s)
        return AfterSuccess(kind, PRIORITY[kind], True, now + wait, state)

    def counts_live_blogs(self, lease: Lease, outcome: Outcome) -> bool:
        """Whether ``after_success`` needs the host's live blogs counted: a page that starts
        being followed as a live blog (one followed already keeps its place)."""
        return (
            outcome.live
            and outcome.changed
            and lease.live_until is None
            and self.limits.live_max_per_host is not None
            and self.limits.live_refetch_s is not None
        )

    def live_until(self, lease: Lease, outcome: Outcome, now: float) -> float | None:
        """Until when a live blog is fetched again; None once it ended (or it is no live blog).

        Its coverage end when the page gives one, and at most ``live_max_s`` after its start
        (its own coverage start or publication time; else its first fetch, kept on the lease). A visit that
        read nothing new (304, the same body) keeps what the lease says.
        """
        if not outcome.changed:
            until = lease.live_until
        elif not outcome.live:
            return None
        else:
            start = outcome.coverage_start_ts if outcome.coverage_start_ts is not None else now
            until = min(start + self.limits.live_max_s, lease.live_until or math.inf)
            if outcome.coverage_end_ts is not None:
                until = min(until, outcome.coverage_end_ts)
        return until if until is not None and until > now else None

    def section_recheck_s(self, lease: Lease, now: float) -> float:
        """A possible section's next look: ``section_recheck_min_s`` after the first, then twice
        the previous gap, at most ``revisit_max_s`` (a service page costs a fetch a day)."""
        first = self.limits.section_recheck_min_s
        gap = 2.0 * (now - lease.fetched_at) if lease.fetched_at is not None else first
        return min(max(gap, first), max(first, self.limits.revisit_max_s))

    def after_failure(
        self, lease: Lease, error: NewscrawlError, now: float, *, fetched_before: bool
    ) -> AfterFailure:
        attempts = lease.attempts + 1
        status = error.status if isinstance(error, HTTPStatusError) else None
        throttled = status in THROTTLE_STATUSES or isinstance(error, UNREACHABLE_ERRORS)
        retry_after = error.retry_after_s if isinstance(error, HTTPStatusError) else None
        mode: FailureMode
        per_round = self.limits.max_attempts
        in_round = (attempts - 1) % per_round + 1
        if error.transient and in_round < per_round:
            mode, due = "retry", now + self.politeness.backoff_base_s * in_round
        elif lease.kind in REVISITED_KINDS and fetched_before and not lease.section_on_trial:
            # A feed that fails today is still worth a visit on its next interval.
            interval = lease.interval_s or self.revisit_interval_s(lease.outlet)
            mode, attempts, due = "revisit", 0, now + interval
        elif error.transient and attempts < per_round * self.retry_rounds:
            # Its site is down or throttling: a later round, as an outage may last an hour.
            gap = self.limits.retry_round_gap_s * 2.0 ** (attempts // per_round - 1)
            mode, due = "retry", now + gap
        elif lease.kind in REVISITED_KINDS and self.retry_rounds > 1 and not lease.found_section:
            # A source is its outlet's: a continuous crawl never gives one up for good, it looks
            # again a day later (a feed moved back, a site down for longer than the rounds). A
            # link that only might have been a section is no source yet.
            mode, attempts, due = "revisit", 0, now + self.limits.revisit_max_s
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

    def lost_too_often(self, lease: Lease) -> bool:
        """Its holders died with it ``max_attempts`` times in a row: fail it (see WorkerLost)
        rather than hand it out again."""
        return lease.lost >= self.limits.max_attempts

    def after_robots_failure(self, attempts_before: int, *, cached: bool) -> AfterRobotsFailure:
        """RFC 9309 (2.3.1.4): an unreachable robots.txt means complete disallow. After a few
        tries the host's last copy (``cached``) stands in; with none, the host waits, asking
        again on the back-off schedule (up to ``backoff_max_s`` apart) until it answers."""
        attempts = attempts_before + 1
        if attempts < ROBOTS_MAX_ATTEMPTS or not cached:
            level = min(attempts, _MAX_BACKOFF_LEVELS)
            return AfterRobotsFailure(True, attempts, backoff_s(self.politeness, level, None))
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


def lost_error(lease: Lease) -> WorkerLost:
    return WorkerLost(
        f"the process holding it died {lease.lost} times before it was done: the page may kill workers",
        url=lease.url,
    )


def robots_lease(host: str, scheme: str, now: float, source_outlet: str | None = None) -> Lease:
    """The lease that fetches a host's robots.txt, before any other URL of the host.

    ``source_outlet``: the outlet of the host's next URL when that is a feed or a sitemap, which
    may be hosted off its outlet's hosts (a feed its pages name, a sitemap its robots.txt names,
    on a CDN's name): the robots.txt is then that outlet's to fetch (``OutletScope``)."""
    return Lease(
        url=f"{scheme}://{host}/robots.txt",
        host=host,
        kind="robots",
        outlet=source_outlet,
        depth=0,
        leased_at=now,
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
