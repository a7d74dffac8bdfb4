"""Adaptive revisits, on a virtual clock: intervals follow what sources yield, politeness holds.

The schedule itself (scheduler/policy.py RevisitSchedule) is checked on its own; then through
both frontiers, built by the production factory; then on a crawl of the live web's schedule
(tests/virtual_crawl.py), where the SQLite and the Redis frontier must lease the same URLs at the
same times, and where adaptive revisits must beat fixed ones at the same number of requests.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import pytest

from newscrawl.app.factory import build_frontier
from newscrawl.core.errors import HTTPStatusError
from newscrawl.core.interfaces import Frontier
from newscrawl.core.records import FrontierEntry, Lease, Outcome, UrlKind
from newscrawl.core.settings import FrontierSettings
from scheduler.outlets import parse_outlets
from scheduler.policy import RevisitSchedule
from tests.conftest import SettingsFactory, make_settings
from tests.live_web import LiveSchedule, corpus_texts
from tests.virtual_crawl import FETCH_S, VirtualCrawl, outlets_of, run

T0 = 1_800_000_000.0
FEED = "http://a.example/feed.xml"
OUTLETS = parse_outlets(
    '[[outlet]]\nname = "x"\nurls = ["http://a.example/"]\nfeeds = ["http://a.example/feed.xml"]\n'
)


def visit(schedule: RevisitSchedule, lease: Lease, now: float, new: int, *, changed: bool = True) -> Lease:
    """The lease of the source's next visit, after one that yielded ``new`` links at ``now``."""
    state = schedule.after_visit(lease, Outcome(200, new_articles=new, changed=changed), now)
    return Lease(
        url=lease.url,
        host=lease.host,
        kind=lease.kind,
        outlet=None,
        depth=0,
        interval_s=state.interval_s,
        fetched_at=now,
        last_new_at=state.last_new_at,
        new_ewma=state.new_ewma,
        span_ewma=state.span_ewma,
    )


def silent_hour(
    schedule: RevisitSchedule, lease: Lease, now: float, *, changed: bool = False
) -> tuple[Lease, float, list[float]]:
    """Visits that bring nothing new for an hour: the lease after them, the time, the intervals."""
    start, gaps = now, []
    while now - start < 3600:
        assert lease.interval_s is not None
        now += lease.interval_s
        lease = visit(schedule, lease, now, 0, changed=changed)
        gaps.append(lease.interval_s)
    return lease, now, gaps


# A feed whose first visit lists 20 stories dated over the last 100 minutes: one every 5 minutes.
BUSY = Outcome(200, new_articles=20, dated_links=20, oldest_dated_ts=T0 - 20 * 300)


def known_rate(schedule: RevisitSchedule) -> Lease:
    state = schedule.after_visit(Lease(FEED, "a.example", "feed", None, 0), BUSY, T0)
    return Lease(
        FEED,
        "a.example",
        "feed",
        None,
        0,
        interval_s=state.interval_s,
        fetched_at=T0,
        last_new_at=state.last_new_at,
        new_ewma=state.new_ewma,
        span_ewma=state.span_ewma,
    )


def test_the_interval_shrinks_in_a_burst_grows_in_silence_and_keeps_its_bounds() -> None:
    schedule = RevisitSchedule(FrontierSettings())
    lease, now, gaps = silent_hour(schedule, known_rate(schedule), T0)
    assert gaps == sorted(gaps) and gaps[-1] >= 600  # an hour without news: 10 minutes at least
    # A source that has been quiet for an hour (no rate shown) starts a burst.
    home = visit(schedule, Lease("http://a.example/", "a.example", "listing", None, 0), T0, 20)
    lease, now, _ = silent_hour(schedule, home, T0)
    quiet_interval = lease.interval_s
    assert quiet_interval is not None and quiet_interval >= 600
    now += quiet_interval
    lease = visit(schedule, lease, now, 1)
    assert lease.interval_s is not None and lease.interval_s <= quiet_interval / 4
    now += lease.interval_s
    lease = visit(schedule, lease, now, 3)
    assert lease.interval_s == 60  # the minimum, within two visits
    for _ in range(50):  # a fire hose stays at the minimum; a long silence stops at the maximum
        now += 60
        lease = visit(schedule, lease, now, 10)
    assert lease.interval_s == 60
    for _ in range(200):
        assert lease.interval_s is not None
        now += lease.interval_s
        lease = visit(schedule, lease, now, 0, changed=False)
    assert lease.interval_s == 86400


def test_a_lull_shorter_than_an_hour_is_the_rates_to_judge() -> None:
    """A busy outlet that goes quiet for 40 minutes (between two bursts) is still looked at at
    about its pace when the next burst comes, not at a sixth of its silence."""
    schedule = RevisitSchedule(FrontierSettings())
    lease, now = known_rate(schedule), T0
    while now - T0 < 40 * 60:
        assert lease.interval_s is not None
        now += lease.interval_s
        lease = visit(schedule, lease, now, 0, changed=False)
    assert lease.interval_s is not None and lease.interval_s < 40 * 60 / 6 * 0.6
    lease, _, gaps = silent_hour(schedule, lease, now)
    assert gaps[-1] >= 600  # past the hour, the silence rules


def test_a_source_that_has_shown_no_rate_waits_as_long_as_its_silence_asks() -> None:
    """A home page (no dates) whose first visit found its stories: while its body stays the
    same, it keeps its first interval until a sixth of its silence is longer, then follows that;
    one that lists only what another source had found grows by 1.5 per visit."""
    schedule = RevisitSchedule(FrontierSettings())
    home = Lease("http://a.example/", "a.example", "listing", None, 0)
    lease = visit(schedule, home, T0, 20)
    assert lease.interval_s == 120 and lease.new_ewma is None  # a first visit teaches no rate
    lease, now, gaps = silent_hour(schedule, lease, T0)
    visited_at = list(itertools.accumulate([120.0, *gaps[:-1]]))
    assert gaps == [pytest.approx(max(120.0, at / 6)) for at in visited_at]
    assert gaps[0] == 120 and gaps[-1] >= 600 and gaps == sorted(gaps)
    assert lease.new_ewma is None
    # News at last: from now on it has a rate.
    lease = visit(schedule, lease, now + (lease.interval_s or 0), 2)
    assert lease.new_ewma is not None and lease.new_ewma > 0
    # Everything it lists is known (another source of the outlet found it first): its rate is none.
    redundant = visit(schedule, home, T0, 0)
    assert redundant.new_ewma == 0.0
    _, _, gaps = silent_hour(schedule, redundant, T0, changed=True)
    assert gaps[:3] == [180, 270, 405]


def test_a_steady_source_settles_where_it_yields_about_half_a_link_per_visit() -> None:
    schedule = RevisitSchedule(FrontierSettings(revisit_min_s=10))
    lease = visit(schedule, Lease(FEED, "a.example", "feed", None, 0), T0, 20)
    now, published, seen = T0, T0, 0
    intervals = []
    for _ in range(300):  # one story every 200 s
        assert lease.interval_s is not None
        now += lease.interval_s
        out = int((now - T0) // 200)
        new, seen = out - seen, out
        published = now
        lease = visit(schedule, lease, published, new, changed=new > 0)
        intervals.append(lease.interval_s)
    settled = sorted(intervals[100:])
    assert 60 <= settled[len(settled) // 2] <= 160  # target: 0.5 new per visit = every ~100 s


def test_a_feed_s_dates_give_its_first_rate() -> None:
    schedule = RevisitSchedule(FrontierSettings())
    busy = Outcome(200, new_articles=20, dated_links=20, oldest_dated_ts=T0 - 20 * 300)
    rare = Outcome(200, new_articles=5, dated_links=5, oldest_dated_ts=T0 - 30 * 86400)
    lease = Lease(FEED, "a.example", "feed", None, 0)
    assert schedule.after_visit(lease, busy, T0).interval_s == 150  # 20 in 100 min: half of 5 min
    assert schedule.after_visit(lease, rare, T0).interval_s == 86400  # five a month: the maximum


# --- through the frontiers ---------------------------------------------------------------------


def adaptive_frontier(backend_settings: SettingsFactory, **frontier: Any) -> Frontier:
    return build_frontier(
        backend_settings(politeness={"respect_robots": False, "min_delay_ms": 1000}, frontier=frontier),
        OUTLETS,
    )


def test_both_frontiers_store_and_follow_the_schedule(backend_settings: SettingsFactory) -> None:
    f = adaptive_frontier(backend_settings)

    def due_gaps(url: str, kind: UrlKind, yields: list[int], *, changed: bool) -> list[float]:
        f.add([FrontierEntry(url, kind, "x")], T0)
        now, gaps = T0, []
        for new in yields:
            (lease,) = f.lease(now, 10)
            assert lease.url == url
            f.complete(lease, Outcome(200, new_articles=new, changed=changed or new > 0), now)
            view = f.url_view(url)
            assert view is not None
            gaps.append(round(view.due_at - now, 6))
            assert f.lease(view.due_at - 0.01, 10) == []  # not before it is due
            now = view.due_at
        return gaps

    # A feed whose body changes but lists only what was known grows by 1.5 a visit; then a burst.
    gaps = due_gaps(FEED, "feed", [20, 0, 0, 0, 2, 3, 0], changed=True)
    assert gaps[:4] == [120, 180, 270, 405]
    assert gaps[4] < 405 / 4 and gaps[5] == 60
    assert gaps[6] == 90
    # A page that has shown no rate keeps its interval while it does not change (stored as such).
    assert due_gaps("http://b.example/", "listing", [20, 0, 0, 0], changed=False) == [120] * 4


def test_a_due_source_still_waits_for_its_host(backend_settings: SettingsFactory) -> None:
    """Revisits never break politeness: the host's delay and its back-off after a 429."""
    f = adaptive_frontier(backend_settings)
    home = "http://a.example/"
    f.add([FrontierEntry(FEED, "feed", "x"), FrontierEntry(home, "listing", "x")], T0)
    (first,) = f.lease(T0, 10)
    f.complete(first, Outcome(200, new_articles=0), T0 + 0.1)
    assert f.lease(T0 + 1.0, 10) == []  # the same host: one second after the first fetch ended
    (second,) = f.lease(T0 + 1.1, 10)
    f.fail(second, HTTPStatusError("429", url=second.url, status=429, retry_after_s=900), T0 + 1.2)
    # The feed's revisit falls due (120 s) while the host rests for the Retry-After (900 s).
    assert f.lease(T0 + 300, 10) == []
    assert f.lease(T0 + 900, 10) == []
    assert [lease.url for lease in f.lease(T0 + 901.3, 10)] in ([FEED], [home])


def test_newest_first_among_due_articles(backend_settings: SettingsFactory) -> None:
    f = adaptive_frontier(backend_settings)
    listing = [
        FrontierEntry(
            f"http://a.example/news/teaser-number-{i}-of-the-home-page", "article", "x", 1, position=i
        )
        for i in range(3)
    ]
    dated = [
        FrontierEntry(
            "http://a.example/news/yesterdays-story-from-the-feed", "article", "x", 1, published_ts=T0 - 86400
        ),
        FrontierEntry(
            "http://a.example/news/this-mornings-story-from-the-feed", "article", "x", 1, published_ts=T0 - 60
        ),
    ]
    f.add(listing[::-1] + dated, T0 - 30)
    order = []
    now = T0
    for _ in range(5):
        (lease,) = f.lease(now, 10)
        order.append(lease.url.rsplit("/", 1)[1])
        f.complete(lease, Outcome(200), now)
        now += 1.0
    assert order == [
        "teaser-number-0-of-the-home-page",  # found 30 s ago, top of the page
        "teaser-number-1-of-the-home-page",
        "teaser-number-2-of-the-home-page",
        "this-mornings-story-from-the-feed",  # published 60 s ago
        "yesterdays-story-from-the-feed",
    ]


# --- a crawl of the live web on the virtual clock ---------------------------------------------


@pytest.fixture
def live_schedule(corpora: Path) -> LiveSchedule:
    return LiveSchedule.build(corpus_texts(corpora))


def virtual_crawl(tmp: Path, schedule: LiveSchedule, until_s: float, **frontier: Any) -> VirtualCrawl:
    settings = make_settings(
        tmp, politeness={"respect_robots": False, "min_delay_ms": 1000}, frontier=frontier
    )
    return run(build_frontier(settings, outlets_of(schedule)), schedule, t0=T0, until_s=until_s)


def test_adaptive_revisits_beat_fixed_ones_at_the_same_number_of_requests(
    tmp_path: Path, live_schedule: LiveSchedule
) -> None:
    run_s = live_schedule.duration_s + 300
    adaptive = virtual_crawl(tmp_path / "adaptive", live_schedule, run_s)
    requests = sum(adaptive.source_requests.values())
    sources = len(live_schedule.source_urls())
    fixed = virtual_crawl(
        tmp_path / "fixed",
        live_schedule,
        run_s,
        revisit="fixed",
        revisit_interval_s=sources * run_s / requests,
    )
    assert abs(sum(fixed.source_requests.values()) - requests) <= 0.1 * requests
    p95 = {name: VirtualCrawl.p(c.delays(live_schedule), 95) for name, c in (("a", adaptive), ("f", fixed))}
    assert p95["a"] <= 0.6 * p95["f"], p95
    for cls in ("bursty", "steady"):  # the target with default settings
        assert VirtualCrawl.p(adaptive.delays(live_schedule, cls), 95) <= 120
    # Requests went where the news is: quiet outlets cost a fraction of what a fixed schedule spends.
    assert adaptive.source_requests["quiet"] <= 0.4 * fixed.source_requests["quiet"]
    delays = adaptive.delays(live_schedule)
    assert sum(d < float("inf") for d in delays) >= 0.98 * len(delays)


@pytest.mark.parametrize(
    "seed, shape",
    [
        (9, {}),  # a burst 5 minutes in, on an outlet whose only source is an undated home page
        (11, {}),
        # an hour: bursts of 15 with 25 to 50 quiet minutes between them
        (8, {"duration_s": 3300.0, "steady_per_run": 33, "burst_size": 15}),
        (10, {"duration_s": 3300.0, "steady_per_run": 33, "burst_size": 15}),
    ],
)
def test_other_live_webs_are_indexed_within_two_minutes_too(
    tmp_path: Path, corpora: Path, seed: int, shape: dict[str, Any]
) -> None:
    """The default schedule's p95 for bursty and steady outlets holds on webs it was not tuned
    on: other draws of the live web, and one where bursts come after long lulls."""
    schedule = LiveSchedule.build(corpus_texts(corpora), seed=seed, **shape)
    crawl = virtual_crawl(tmp_path, schedule, schedule.duration_s + 300)
    for cls in ("bursty", "steady"):
        assert VirtualCrawl.p(crawl.delays(schedule, cls), 95) <= 120, cls


def test_sources_silent_for_an_hour_are_polled_at_most_every_ten_minutes(
    tmp_path: Path, live_schedule: LiveSchedule
) -> None:
    crawl = virtual_crawl(tmp_path, live_schedule, 4 * 3600)
    released = {o.home: o for o in live_schedule.outlets}
    checked = 0
    for o in live_schedule.outlets:
        for url, _ in o.sources():
            yields = [0.0, *crawl.source_yields.get(url, [])]
            for before, after in itertools.pairwise(crawl.source_visits[url]):
                silent_s = before + FETCH_S - max(y for y in yields if y <= before + FETCH_S)
                if silent_s >= 3600:
                    assert after - before >= 600, (url, before, after)
                    checked += 1
    assert checked > 50 and released


def test_both_frontiers_crawl_the_live_web_alike(tmp_path: Path, live_schedule: LiveSchedule) -> None:
    from tests.conftest import REDIS_URL, drop_redis_prefix, require_redis

    require_redis()
    prefix = f"nctest-live-{uuid.uuid4().hex[:8]}"
    crawls = []
    try:
        for backend in ("sqlite", "redis"):
            settings = make_settings(
                tmp_path / backend,
                politeness={"respect_robots": False, "min_delay_ms": 1000},
                frontier={"backend": backend},
                redis_url=REDIS_URL,
                redis_prefix=prefix,
            )
            frontier = build_frontier(settings, outlets_of(live_schedule))
            crawls.append(run(frontier, live_schedule, t0=T0, until_s=900, tick_s=FETCH_S))
    finally:
        drop_redis_prefix(f"{prefix}:")
    sqlite_crawl, redis_crawl = crawls
    assert len(sqlite_crawl.leases) > 500
    assert sqlite_crawl.leases == redis_crawl.leases


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_source_budget_is_kept_and_spent_where_the_news_is(
    tmp_path: Path, live_schedule: LiveSchedule, backend: str
) -> None:
    from tests.conftest import REDIS_URL, drop_redis_prefix, require_redis

    if backend == "redis":
        require_redis()
    prefix = f"nctest-budget-{uuid.uuid4().hex[:8]}"
    budget_per_min = 20.0  # a third of what the sources ask for unbudgeted
    run_s = live_schedule.duration_s + 300
    try:
        settings = make_settings(
            tmp_path,
            politeness={"respect_robots": False, "min_delay_ms": 1000},
            frontier={"backend": backend, "source_budget_per_min": budget_per_min},
            redis_url=REDIS_URL,
            redis_prefix=prefix,
        )
        crawl = run(build_frontier(settings, outlets_of(live_schedule)), live_schedule, t0=T0, until_s=run_s)
    finally:
        drop_redis_prefix(f"{prefix}:")
    # After the first pass over every source (the seeds), visits keep to the budget.
    sources = set(live_schedule.source_urls())
    revisits = sorted(t for t, url in crawl.leases if url in sources)[len(sources) :]
    per_min = len(revisits) / ((run_s - revisits[0]) / 60)
    assert per_min <= budget_per_min * 1.1
    assert per_min >= budget_per_min * 0.6  # and the budget is used, not wasted
    # Busy outlets get the visits: per source, steady ones far more often than quiet ones.
    visits = {cls: 0 for cls in ("bursty", "steady", "quiet")}
    for _, url in ((t, u) for t, u in crawl.leases if u in sources):
        visits[live_schedule.source_urls()[url]] += 1
    n_sources = {c: sum(1 for v in live_schedule.source_urls().values() if v == c) for c in visits}
    assert visits["steady"] / n_sources["steady"] >= 3 * visits["quiet"] / n_sources["quiet"]


def test_stories_rewritten_after_release_are_fetched_again_once_their_sitemap_dates_it(
    tmp_path: Path, corpora: Path
) -> None:
    """Five virtual hours of the live web with default settings, each story rewritten once
    between 40 minutes and 4 hours after its release (its sitemap's lastmod moves): every
    rewrite of a story whose outlet has a sitemap is fetched (the median within 10 minutes,
    at the sitemap's next visit), no story is fetched again without a rewrite, and an outlet
    with a feed alone (RSS dates no change) fetches none again. Rewritten three times, a story
    is fetched at most once a rewrite, rewrites close together in one fetch."""
    until_s = 5 * 3600.0
    for rewrites in (1, 3):
        schedule = LiveSchedule.build(corpus_texts(corpora), rewrites=rewrites)
        crawl = virtual_crawl(tmp_path / str(rewrites), schedule, until_s)
        delays: list[float] = []
        rewrites_seen = 0
        for outlet in schedule.outlets:
            for article in outlet.articles:
                again = crawl.refetched.get(article.url, [])
                if not outlet.sitemap:
                    assert again == [], article.url
                    continue
                first = crawl.fetched[article.url]
                assert all(any(first < u <= at for u in article.updated_at) for at in again), article.url
                assert len(again) <= len(article.updated_at)
                for u in article.updated_at:
                    if u <= until_s - 3600:
                        rewrites_seen += 1
                        later = [at for at in again if at >= u]
                        delays.append(min(later) - u if later else float("inf"))
        assert rewrites_seen > 100
        if rewrites == 1:
            assert max(delays) < float("inf")
            assert sorted(delays)[len(delays) // 2] <= 600
        else:
            assert sum(d < float("inf") for d in delays) >= 0.9 * len(delays)


def test_stories_retitled_when_rewritten_are_fetched_again_from_outlets_without_a_sitemap(
    tmp_path: Path, corpora: Path
) -> None:
    """The same five virtual hours, each rewrite also giving the story a new headline on every
    source that lists it: outlets with a feed or a home page alone, which date no change, now
    have their rewrites fetched too (from the headline their first listing page shows), once a
    rewrite, none without one. Before session 33 none of them was fetched again."""
    until_s = 5 * 3600.0
    schedule = LiveSchedule.build(corpus_texts(corpora), rewrites=1, retitle=True)
    crawl = virtual_crawl(tmp_path, schedule, until_s)
    delays: list[float] = []
    for outlet in schedule.outlets:
        for article in outlet.articles:
            again = crawl.refetched.get(article.url, [])
            first = crawl.fetched.get(article.url)
            assert all(first is not None and any(first < u <= at for u in article.updated_at) for at in again)
            assert len(again) <= len(article.updated_at), article.url
            if outlet.sitemap:
                continue
            for u in article.updated_at:
                if u <= until_s - 3600:
                    later = [at for at in again if at >= u]
                    delays.append(min(later) - u if later else float("inf"))
    delays.sort()
    print(
        f"\nretitled rewrites without a sitemap: {len(delays)}, median {delays[len(delays) // 2]:.0f} s,"
        f" p95 {delays[int(len(delays) * 0.95)]:.0f} s, missed {sum(d == float('inf') for d in delays)}"
    )
    assert len(delays) > 50
    assert max(delays) < float("inf")
    assert delays[len(delays) // 2] <= 1200
