"""A crawl of the live web's schedule on a virtual clock: the frontier's decisions, no HTTP.

Each lease is answered from :class:`LiveSchedule` at the virtual time: a source lists what it
would list (a 304 when that is what it listed last time), an article is fetched. The clock jumps
to the frontier's next wake-up, so a day of crawling takes seconds, and the same run against the
SQLite and the Redis frontier must lease the same URLs at the same times.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from newscrawl.core.interfaces import Frontier
from newscrawl.core.records import AddResult, FrontierEntry, Outcome, headline_key
from scheduler.outlets import Outlet
from scheduler.policy import seed
from tests.live_web import LiveArticle, LiveSchedule

# A fetch's duration on the virtual clock: the report comes this long after the lease.
FETCH_S = 0.2


@dataclass
class VirtualCrawl:
    leases: list[tuple[float, str]] = field(default_factory=list)  # (relative time, URL)
    fetched: dict[str, float] = field(default_factory=dict)  # article URL -> relative fetch time
    refetched: dict[str, list[float]] = field(default_factory=dict)  # article URL -> later fetches
    source_requests: Counter[str] = field(default_factory=Counter)  # by outlet class
    not_modified: int = 0
    articles_fetched: int = 0
    source_visits: dict[str, list[float]] = field(default_factory=dict)  # lease times
    source_yields: dict[str, list[float]] = field(default_factory=dict)  # reports with new links

    def delays(self, schedule: LiveSchedule, cls: str | None = None) -> list[float]:
        """Release to fetch, for the articles released during the run (never fetched: inf)."""
        out = []
        for a in schedule.released_during():
            if cls is None or schedule.outlet(a.outlet).cls == cls:
                out.append(self.fetched.get(a.url, float("inf")) - a.released_at)
        return out

    @staticmethod
    def p(values: list[float], q: int) -> float:
        if len(values) < 2:
            return values[0] if values else 0.0
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def outlets_of(schedule: LiveSchedule) -> list[Outlet]:
    from scheduler.outlets import parse_outlets

    return parse_outlets(schedule.outlets_toml())


def run(
    frontier: Frontier,
    schedule: LiveSchedule,
    *,
    t0: float,
    until_s: float,
    tick_s: float | None = None,
    every_s: float = 3600.0,
    on_sample: Callable[[float, VirtualCrawl], None] | None = None,
    keep_log: bool = True,
) -> VirtualCrawl:
    """Crawl until ``until_s``; the clock jumps to the frontier's next wake-up, or by ``tick_s``.

    ``on_sample(relative time, crawl so far)`` is called every ``every_s`` of virtual time (a
    soak's readings);
    ``keep_log=False`` keeps no per-lease record (a soak measures the frontier's memory, not this).
    """
    next_sample = 0.0
    crawl = VirtualCrawl()
    sources = {url: (o, kind) for o in schedule.outlets for url, kind in o.sources()}
    articles: dict[str, LiveArticle] = {a.url: a for a in schedule.articles()}
    listed_before: dict[str, tuple[str, ...]] = {}
    seed(frontier, outlets_of(schedule), t0)
    now = t0
    while now - t0 <= until_s:
        rel = now - t0
        if on_sample is not None and rel >= next_sample:
            on_sample(rel, crawl)
            next_sample += every_s
        leases = frontier.lease(now, 256)
        report_at = now + FETCH_S
        for lease in leases:
            if keep_log:
                crawl.leases.append((round(rel, 3), lease.url))
            if lease.url in sources:
                outlet, kind = sources[lease.url]
                crawl.source_requests[outlet.cls] += 1
                if keep_log:
                    crawl.source_visits.setdefault(lease.url, []).append(rel)
                items = schedule.listed(outlet, kind, rel)
                # A sitemap dates each story's last change (<lastmod>); its listing changes with it.
                dated_changes = kind == "sitemap"
                listing = tuple(
                    (a.url, a.lastmod(rel) if dated_changes else 0.0, a.headline(rel)) for a in items
                )
                changed = listing != listed_before.get(lease.url)
                listed_before[lease.url] = listing
                added = AddResult()
                entries: list[FrontierEntry] = []
                if changed:
                    has_dates = kind in ("feed", "sitemap")
                    entries = [
                        FrontierEntry(
                            a.url,
                            "article",
                            outlet.name,
                            1,
                            published_ts=t0 + a.released_at if has_dates else None,
                            referrer=lease.url,
                            position=i,
                            modified_ts=t0 + a.lastmod(rel) if dated_changes else None,
                            headline=headline_key(a.headline(rel)),
                            previous_visit_ts=lease.fetched_at,
                        )
                        for i, a in enumerate(items)
                    ]
                    added = frontier.add(entries, report_at)
                else:
                    crawl.not_modified += 1
                dated = [e.published_ts for e in entries if e.published_ts is not None] if changed else []
                outcome = Outcome(
                    status=200 if changed else 304,
                    new_articles=added.new_articles,
                    changed=changed,
                    dated_links=len(dated),
                    oldest_dated_ts=min(dated, default=None),
                )
                frontier.complete(lease, outcome, report_at)
                if added.new_articles and keep_log:
                    crawl.source_yields.setdefault(lease.url, []).append(report_at - t0)
            else:
                assert articles[lease.url].released_at <= rel, "an article was leased before its release"
                crawl.articles_fetched += 1
                if keep_log:
                    if lease.url in crawl.fetched:
                        crawl.refetched.setdefault(lease.url, []).append(rel + FETCH_S)
                    crawl.fetched.setdefault(lease.url, rel + FETCH_S)
                frontier.complete(lease, Outcome(status=200), report_at)
        if tick_s is not None:
            now = round(now + tick_s, 6)
            continue
        wake = frontier.next_wakeup(report_at)
        now = max(report_at, wake if wake is not None else report_at + 1.0)
    return crawl
