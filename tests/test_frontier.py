"""The frontier's contract: seen filter, priorities, politeness, back-off, limits, recovery.

Written against the interface and built by the production factory, so the Redis backend of the
distributed mode runs the same cases.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from newscrawl.app.factory import build_frontier
from newscrawl.core.connections import open_sqlite
from newscrawl.core.errors import ConnectError, HTTPStatusError
from newscrawl.core.interfaces import Frontier
from newscrawl.core.records import FrontierEntry, Lease, Outcome, UrlKind, headline_key
from newscrawl.core.urls import host_of
from scheduler.outlets import OutletScope, parse_outlets
from scheduler.policy import FrontierPolicy
from scheduler.sqlite_frontier import SQLiteFrontier
from tests.conftest import SettingsFactory, make_settings

T0 = 1_800_000_000.0
OUTLETS = parse_outlets('[[outlet]]\nname = "x"\nurls = ["http://a.example/"]\nrevisit_interval_s = 60\n')
SHORT_LEASES: dict[str, Any] = {"frontier": {"lease_timeout_s": 60}, "workers": {"task_time_limit_s": 30}}
ROBOTS_ON = {"respect_robots": True, "min_delay_ms": 0}


def frontier(
    backend_settings: SettingsFactory, politeness: dict[str, Any] | None = None, **overrides: Any
) -> Frontier:
    base = {"min_delay_ms": 1000, "respect_robots": False, "backoff_base_s": 10, "backoff_max_s": 100}
    return build_frontier(backend_settings(politeness={**base, **(politeness or {})}, **overrides), OUTLETS)


def test_seen_filter_and_priorities(backend_settings: SettingsFactory) -> None:
    f = frontier(backend_settings)
    result = f.add(
        [
            FrontierEntry(
                "http://a.example/old-story-from-monday-morning", "article", "x", 1, published_ts=T0 - 500
            ),
            FrontierEntry(
                "http://a.example/new-story-from-tuesday-noon", "article", "x", 1, published_ts=T0 - 10
            ),
            FrontierEntry("http://a.example/", "listing", "x"),
            FrontierEntry("http://a.example/feed.xml", "feed", "x"),
        ],
        T0,
    )
    assert result.added == 4
    assert f.add([FrontierEntry("http://a.example/", "listing", "x")], T0).known == 1
    order = []
    now = T0
    for _ in range(4):
        (lease,) = f.lease(now, 10)
        order.append(lease.url)
        f.complete(lease, Outcome(status=200), now)
        now += 1.0
    assert order == [
        "http://a.example/feed.xml",
        "http://a.example/",
        "http://a.example/new-story-from-tuesday-noon",
        "http://a.example/old-story-from-monday-morning",
    ]


STORY = "http://a.example/2026/12/06/minister-resigns-after-vote"


def _story(modified_ts: float | None) -> list[FrontierEntry]:
    return [FrontierEntry(STORY, "article", "x", 1, published_ts=T0, modified_ts=modified_ts)]


def test_a_story_its_sitemap_dates_a_change_of_is_fetched_again_once_per_change(
    backend_settings: SettingsFactory,
) -> None:
    """A story fetched once is fetched again when its feed or sitemap dates a change later than
    that fetch (a correction, a developing story rewritten), at most once per
    ``refetch_min_gap_s``; a change dated within the clocks' slack of the fetch, in the future,
    older than ``refetch_max_age_s``, or already fetched, is nothing new. Before session 31 a
    story was fetched once and the index kept its first version."""
    f = frontier(backend_settings, frontier={"refetch_min_gap_s": 1800, "refetch_max_age_s": 86400})
    assert f.add(_story(None), T0).added == 1
    (lease,) = f.lease(T0, 5)
    f.complete(lease, Outcome(status=200), T0)

    def offered(modified: float | None, now: float) -> tuple[int, int]:
        result = f.add(_story(modified), now)
        return result.updated, result.known

    assert offered(None, T0 + 4000) == (0, 1)  # no date: the seen filter as ever
    assert offered(T0 + 60, T0 + 4000) == (0, 1)  # the version fetched, dated a moment later
    assert offered(T0 + 900, T0 + 1000) == (0, 1)  # changed, but fetched less than 30 min ago
    assert offered(T0 + 9000, T0 + 4000) == (0, 1)  # dated in the future
    assert offered(T0 + 900, T0 + 900 + 86401) == (0, 1)  # a change too old to chase
    assert f.lease(T0 + 4000, 5) == []
    assert offered(T0 + 900, T0 + 2000) == (1, 0)
    assert offered(T0 + 900, T0 + 2001) == (0, 1)  # queued already
    (again,) = f.lease(T0 + 2001, 5)
    assert again.url == STORY and again.kind == "article"
    f.complete(again, Outcome(status=200), T0 + 2001)
    assert offered(T0 + 900, T0 + 9000) == (0, 1)  # that change is the version now fetched
    assert offered(T0 + 8000, T0 + 9000) == (1, 0)  # a later one is fetched in turn
    (third,) = f.lease(T0 + 9000, 5)
    f.fail(third, HTTPStatusError("gone", status=404, url=STORY), T0 + 9000)
    assert offered(T0 + 9500, T0 + 9600) == (0, 1)  # failed just now: waits the gap again


def test_an_older_story_re_dated_again_and_again_is_fetched_again_ever_less_often(
    backend_settings: SettingsFactory,
) -> None:
    """The gap before a story is fetched again grows with its age (a quarter of the time since
    its publication, when that is dated apart from the change): a day-old story re-dated every
    few minutes is fetched again eight hours later, not every 30 minutes."""
    f = frontier(backend_settings, frontier={"refetch_min_gap_s": 1800, "refetch_gap_share": 0.25})
    published = T0 - 86400

    def offer(modified: float, now: float) -> int:
        entry = FrontierEntry(STORY, "article", "x", 1, published_ts=published, modified_ts=modified)
        return f.add([entry], now).updated

    f.add([FrontierEntry(STORY, "article", "x", 1, published_ts=published)], T0)
    (lease,) = f.lease(T0, 5)
    f.complete(lease, Outcome(status=200), T0)
    assert [offer(T0 + t - 60, T0 + t) for t in (1800, 3600, 4 * 3600, 8 * 3600 - 120)] == [0, 0, 0, 0]
    assert offer(T0 + 8 * 3600, T0 + 8 * 3600 + 60) == 1  # a quarter of its age then: (24 h + 8 h) / 4


HOME = "http://a.example/"


def _listed(headline: str, now: float, f: Frontier, referrer: str = HOME) -> tuple[int, int]:
    entry = FrontierEntry(STORY, "article", "x", 1, referrer=referrer, headline=headline_key(headline))
    result = f.add([entry], now)
    return result.updated, result.known


def test_a_story_its_home_page_shows_under_a_new_headline_is_fetched_again(
    backend_settings: SettingsFactory,
) -> None:
    """A home page dates no change, but an editor rewrites the headline of a story that
    developed: the page that first listed the story showing it under another headline has it
    fetched again, with the gaps of a dated change (a change seen too soon after the last fetch
    is acted on at a later visit), within ``refetch_max_age_s`` of that first listing. Another
    page's wording of the same story, or a label such as "Read more", is no change. Before
    session 33 a story an outlet lists without dates was fetched once."""
    f = frontier(
        backend_settings,
        frontier={"refetch_min_gap_s": 1800, "refetch_gap_share": 0.25, "refetch_max_age_s": 86400},
    )
    assert _listed("Minister faces a confidence vote tonight", T0, f) == (0, 0)
    (lease,) = f.lease(T0, 5)
    f.complete(lease, Outcome(status=200), T0)
    assert _listed("Minister faces a confidence vote tonight", T0 + 4000, f) == (0, 1)
    assert _listed("Read more", T0 + 4000, f) == (0, 1)
    section = "http://a.example/politics/"
    assert _listed("Vote on the minister: what we know", T0 + 4000, f, section) == (0, 1)
    assert _listed("Minister resigns after losing the vote", T0 + 1000, f) == (0, 1)  # fetched 1000 s ago
    assert f.lease(T0 + 1000, 5) == []
    assert _listed("Minister resigns after losing the vote", T0 + 2000, f) == (1, 0)  # not forgotten
    assert _listed("Minister resigns after losing the vote", T0 + 2001, f) == (0, 1)  # queued already
    (again,) = f.lease(T0 + 2001, 5)
    assert again.url == STORY
    f.complete(again, Outcome(status=200), T0 + 2001)
    assert _listed("Minister resigns after losing the vote", T0 + 9000, f) == (0, 1)  # the version fetched
    # A headline tested in turns: each change waits the gap (a quarter of the age, 1800 s at least).
    assert _listed("Minister faces a confidence vote tonight", T0 + 3000, f) == (0, 1)
    assert _listed("Minister faces a confidence vote tonight", T0 + 3801, f) == (1, 0)
    (third,) = f.lease(T0 + 3801, 5)
    f.complete(third, Outcome(status=200), T0 + 3801)
    assert _listed("Minister resigns after losing the vote", T0 + 86401, f) == (0, 1)  # listed too long ago


def test_headlines_are_kept_only_while_a_change_could_still_be_fetched(
    backend_settings: SettingsFactory,
) -> None:
    """The record of the headline each story was listed under is the frontier's memory of the
    last ``refetch_max_age_s`` (an hour here), not of the crawl's history: SQLite rows go, Redis
    keys expire two periods on."""
    settings = backend_settings(frontier={"refetch_max_age_s": 3600})
    f = build_frontier(settings, OUTLETS)

    def listed(n: int, now: float) -> None:
        f.add(
            [
                FrontierEntry(
                    f"http://a.example/2026/12/06/story-number-{i}-of-the-day",
                    "article",
                    "x",
                    1,
                    referrer=HOME,
                    headline=headline_key(f"Headline of story {i}"),
                )
                for i in range(n)
            ],
            now,
        )

    listed(50, T0)
    if settings.frontier.backend == "sqlite":
        db = open_sqlite(settings.data_dir / "frontier.sqlite")
        assert db.execute("SELECT count(*) FROM headlines").fetchone()[0] == 50
        listed(1, T0 + 2 * 3600)
        assert db.execute("SELECT count(*) FROM headlines").fetchone()[0] == 1
    else:
        client = redis.Redis.from_url(settings.redis_url)
        keys = list(client.scan_iter(f"{settings.redis_prefix}:frontier:headlines:*"))
        assert keys and sum(client.hlen(k) for k in keys) == 50
        assert all(0 < client.ttl(k) <= 3 * 3600 for k in keys)


def test_a_new_headline_is_no_change_when_headline_refetching_is_off(
    backend_settings: SettingsFactory,
) -> None:
    f = frontier(backend_settings, frontier={"refetch_min_gap_s": 1800, "headline_refetch": False})
    _listed("Minister faces a confidence vote tonight", T0, f)
    (lease,) = f.lease(T0, 5)
    f.complete(lease, Outcome(status=200), T0)
    assert _listed("Minister resigns after losing the vote", T0 + 4000, f) == (0, 1)
    assert f.lease(T0 + 4000, 5) == []


def test_a_story_is_fetched_once_when_refetching_is_off(backend_settings: SettingsFactory) -> None:
    f = frontier(backend_settings, frontier={"refetch_min_gap_s": None})
    f.add(_story(None), T0)
    (lease,) = f.lease(T0, 5)
    f.complete(lease, Outcome(status=200), T0)
    result = f.add(_story(T0 + 3000), T0 + 4000)
    assert (result.updated, result.known) == (0, 1)
    assert f.lease(T0 + 4000, 5) == []


def test_a_live_blog_is_fetched_again_while_it_runs(backend_settings: SettingsFactory) -> None:
    """A LiveBlogPosting grows for hours: it comes back every ``live_refetch_s`` (a 304 or the
    same body keeps it coming), until the coverage end its page gives, or ``live_max_s`` after
    its publication; a story that is no live blog is fetched once, and so is a live blog with
    ``live_refetch_s = null``. The pass that made the revisit does not wait for it."""
    f = frontier(backend_settings, frontier={"live_refetch_s": 900, "live_max_s": 6 * 3600})
    live = Outcome(status=200, live=True, coverage_start_ts=T0)
    f.add(_story(None), T0)
    (lease,) = f.lease(T0, 5)
    f.complete(lease, live, T0)
    assert f.pending(T0 + 10, fetched_before=T0 + 1) == 0
    assert f.lease(T0 + 890, 5) == []
    (again,) = f.lease(T0 + 901, 5)
    assert again.url == STORY and again.kind == "article" and again.live_until == T0 + 6 * 3600
    f.complete(again, Outcome(status=304, changed=False), T0 + 901)  # nothing new: still live
    (third,) = f.lease(T0 + 1802, 5)
    ends = T0 + 2000
    f.complete(third, dataclasses.replace(live, coverage_end_ts=ends), T0 + 1802)
    (last,) = f.lease(T0 + 2703, 5)  # once after its end, for its final state
    f.complete(last, dataclasses.replace(live, coverage_end_ts=ends), T0 + 2703)
    assert f.lease(T0 + 5 * 3600, 5) == []

    # Published long ago (its window over), no live blog, refetching off: fetched once each.
    for n, (outcome, settings) in enumerate(
        [
            (dataclasses.replace(live, coverage_start_ts=T0 - 7 * 3600), {"live_max_s": 6 * 3600}),
            (Outcome(status=200), {}),
            (live, {"live_refetch_s": None}),
        ]
    ):
        g = frontier(backend_settings, frontier=settings)
        g.add([FrontierEntry(f"http://live{n}.example/2026/12/06/storm-blog", "article", None, 1)], T0)
        (first,) = g.lease(T0, 5)
        g.complete(first, outcome, T0)
        assert g.lease(T0 + 7 * 3600, 5) == [], n


def test_a_host_has_at_most_live_max_per_host_live_blogs_followed(backend_settings: SettingsFactory) -> None:
    """A site that marks every story live would have each fetched every 15 minutes for a day:
    the host's first ``live_max_per_host`` live blogs are followed, a further one is read once, as
    an ordinary story, another host's beside them; once one of them has ended, a new live blog of
    the host is followed again."""
    f = frontier(
        backend_settings, frontier={"live_refetch_s": 900, "live_max_s": 6 * 3600, "live_max_per_host": 2}
    )
    live = Outcome(status=200, live=True, coverage_start_ts=T0)
    blogs = [f"http://a.example/2026/12/06/blog-{i}" for i in range(3)] + ["http://b.example/2026/12/06/blog"]
    f.add([FrontierEntry(url, "article", None, 1) for url in blogs], T0)

    def visit(since: float, until: float, ends: dict[str, float] | None = None) -> list[str]:
        """Every lease from ``since`` to ``until``, completed as a live blog; the URLs in order."""
        visited = []
        for t in range(int(since), int(until), 2):
            for lease in f.lease(float(t), 5):
                end = (ends or {}).get(lease.url)
                f.complete(lease, dataclasses.replace(live, coverage_end_ts=end), float(t))
                visited.append(lease.url)
        return visited

    first = visit(T0, T0 + 60, ends={blogs[0]: T0 + 1000})
    assert sorted(first) == sorted(blogs)
    followed = [url for url in first if url.startswith("http://a.")][:2]
    assert sorted(visit(T0 + 900, T0 + 960)) == sorted([*followed, blogs[3]])  # the third is not
    assert f.stats()["live_blogs_not_followed"] == 1  # `newscrawl stats` shows it
    assert sorted(visit(T0 + 1800, T0 + 1860)) == sorted([*followed, blogs[3]])  # its last visit
    # A new live blog once one has ended: a slot is free.
    f.add([FrontierEntry("http://a.example/2026/12/06/blog-new", "article", None, 1)], T0 + 2000)
    assert visit(T0 + 2000, T0 + 2010) == ["http://a.example/2026/12/06/blog-new"]
    later = visit(T0 + 2700, T0 + 2960)
    assert "http://a.example/2026/12/06/blog-new" in later and blogs[0] not in later
    # One that fails for good (taken down) frees its slot too.
    gone = next(lease for t in range(10) for lease in f.lease(T0 + 3600 + t, 5) if lease.host == "a.example")
    assert gone.url in followed
    f.fail(gone, HTTPStatusError("HTTP 404", url=gone.url, status=404), T0 + 3600)
    f.add([FrontierEntry("http://a.example/2026/12/06/blog-newer", "article", None, 1)], T0 + 3610)
    assert visit(T0 + 3610, T0 + 3620) == ["http://a.example/2026/12/06/blog-newer"]
    assert "http://a.example/2026/12/06/blog-newer" in visit(T0 + 4500, T0 + 4530)


def test_a_live_blog_being_fetched_again_keeps_its_place_among_the_hosts_live_blogs(
    backend_settings: SettingsFactory,
) -> None:
    """With two fetches per host at once, a followed live blog can be in flight while another
    of its host's pages turns out live: the one in flight still counts."""
    f = frontier(
        backend_settings,
        {"per_host_concurrency": 2, "min_delay_ms": 0},
        frontier={"live_refetch_s": 900, "live_max_s": 6 * 3600, "live_max_per_host": 1},
    )
    live = Outcome(status=200, live=True, coverage_start_ts=T0)
    first, second = "http://a.example/2026/12/06/blog-1", "http://a.example/2026/12/06/blog-2"
    f.add([FrontierEntry(first, "article", None, 1)], T0)
    (lease,) = f.lease(T0, 5)
    f.complete(lease, live, T0)
    f.add([FrontierEntry(second, "article", None, 1)], T0 + 900)
    leases = {lease.url: lease for t in (901, 901.5) for lease in f.lease(T0 + t, 5)}  # one a call
    assert set(leases) == {first, second}
    f.complete(leases[second], live, T0 + 902)  # the first is in flight: no room for this one
    f.complete(leases[first], live, T0 + 903)
    assert [lease.url for lease in f.lease(T0 + 1810, 5)] == [first]


def test_one_host_waits_its_delay_others_do_not(backend_settings: SettingsFactory) -> None:
    f = frontier(backend_settings)
    f.add(
        [FrontierEntry(f"http://a.example/story-number-{i}-of-many", "article", "x") for i in range(3)]
        + [FrontierEntry("http://b.example/another-story-on-b-host", "article")],
        T0,
    )
    leases = f.lease(T0, 10)
    assert sorted(lease.host for lease in leases) == ["a.example", "b.example"]
    assert f.lease(T0 + 5, 10) == []  # a.example has one in flight (concurrency 1)
    a = next(lease for lease in leases if lease.host == "a.example")
    f.complete(a, Outcome(status=200), T0 + 2)
    assert f.lease(T0 + 2.9, 10) == []  # the delay runs from the end of the fetch
    assert [lease.host for lease in f.lease(T0 + 3.0, 10)] == ["a.example"]


def test_429_backs_off_with_retry_after(backend_settings: SettingsFactory) -> None:
    f = frontier(backend_settings)
    f.add([FrontierEntry("http://a.example/story-that-gets-throttled", "article", "x")], T0)
    (lease,) = f.lease(T0, 1)
    f.fail(lease, HTTPStatusError("HTTP 429", url=lease.url, status=429, retry_after_s=30), T0)
    assert f.lease(T0 + 29, 1) == []
    (again,) = f.lease(T0 + 30.5, 1)
    assert again.attempts == 1
    # A second 429 without Retry-After doubles the exponential back-off (10 s, then 20 s).
    f.fail(again, HTTPStatusError("HTTP 429", url=lease.url, status=429), T0 + 31)
    assert f.lease(T0 + 31 + 19, 1) == []
    assert f.lease(T0 + 31 + 21, 1) != []


def test_a_host_that_refuses_connections_is_backed_off_like_a_429(backend_settings: SettingsFactory) -> None:
    """Its other URLs would fail the same way: they wait the back-off (10 s here, doubling), not
    the one-second delay; before session 26 a dead host was asked once a second for each of them."""
    f = frontier(backend_settings)
    f.add([FrontierEntry(f"http://a.example/story-{i}-on-a-dead-host", "article", "x") for i in range(3)], T0)
    (lease,) = f.lease(T0, 10)
    f.fail(lease, ConnectError("refused", url=lease.url), T0)
    assert f.lease(T0 + 9.5, 10) == []
    (lease,) = f.lease(T0 + 10, 10)
    f.fail(lease, ConnectError("refused", url=lease.url), T0 + 10)
    assert f.lease(T0 + 10 + 19.5, 10) == []
    (lease,) = f.lease(T0 + 30, 10)
    f.complete(lease, Outcome(status=200), T0 + 30)  # back: the delay is one second again
    assert f.lease(T0 + 31, 10) != []


def test_a_continuous_crawl_never_gives_up_a_source_it_has_not_fetched_yet(
    backend_settings: SettingsFactory,
) -> None:
    """A seed feed that answers 404 (moved, then put back) or whose site is down past the retry
    rounds is looked at again ``revisit_max_s`` later; before session 26 it failed for good and
    its outlet had that source no more, on that run or any later one."""
    f = frontier(backend_settings, frontier={"retry_rounds": 3, "revisit_max_s": 7200})
    feed = "http://a.example/moved-feed.xml"
    f.add([FrontierEntry(feed, "feed", "x")], T0)
    (lease,) = f.lease(T0, 10)
    f.fail(lease, HTTPStatusError("HTTP 404", url=feed, status=404), T0)
    assert f.errors() == [] and f.url_view(feed) is not None  # type: ignore[attr-defined]
    assert f.lease(T0 + 7199, 10) == []
    (lease,) = f.lease(T0 + 7200, 10)
    f.complete(lease, Outcome(status=200), T0 + 7200)
    assert f.url_view(feed) is not None  # a source now, on its interval


def test_a_possible_section_that_fails_is_dropped_one_listing_too_little_looked_at_again_later(
    backend_settings: SettingsFactory,
) -> None:
    """Links a seed page names as possible sections (listings at depth 1): one answering 404 is
    given up for good, not looked at daily as a source of the outlets file would be; one whose
    first visit lists too few articles is looked at again 100 s later, then at twice the previous
    gap (an unchanged page lists no more), at most ``revisit_max_s`` apart, and once it lists
    enough it is a source on the outlet's interval; a section stays a source. Before session 30
    a possible section that listed too little on its first visit was dropped for good, so a
    section still nearly empty when the crawl found it was never read."""
    f = frontier(
        backend_settings, frontier={"retry_rounds": 3, "revisit_max_s": 350, "section_recheck_min_s": 100}
    )
    gone, filling, section = (f"http://a.example/{name}/" for name in ("gone", "neu", "politik"))
    f.add([FrontierEntry(url, "listing", "x", depth=1) for url in (gone, filling, section)], T0)
    leases = {lease.url: lease for lease in f.lease(T0, 10)}
    assert set(leases) == {gone}  # one host: one at a time
    f.fail(leases[gone], HTTPStatusError("HTTP 404", url=gone, status=404), T0)
    assert [e["url"] for e in f.errors()] == [gone]  # type: ignore[attr-defined]
    assert f.url_view(gone) is None  # type: ignore[attr-defined]
    now = T0 + 10
    for _ in range(2):
        (lease,) = f.lease(now, 10)
        f.complete(lease, Outcome(status=200, keep_source=lease.url != filling), now)
        now += 10
    assert f.url_view(section) is not None  # type: ignore[attr-defined]
    looks = [T0 + 10]
    for changed in (True, False, True):
        view = f.url_view(filling)  # type: ignore[attr-defined]
        assert view is not None and view.state == "queued"
        looks.append(view.due_at)
        (lease,) = f.lease(view.due_at, 10)
        assert lease.url == filling and lease.interval_s is None
        outcome = Outcome(status=200 if changed else 304, changed=changed, keep_source=False)
        f.complete(lease, outcome, view.due_at)
    view = f.url_view(filling)  # type: ignore[attr-defined]
    looks.append(view.due_at)
    assert [b - a for a, b in itertools.pairwise(looks)] == [100, 200, 350, 350]
    (lease,) = f.lease(view.due_at, 10)
    f.complete(lease, Outcome(status=200, keep_source=True), view.due_at)
    assert f.url_view(filling).due_at == view.due_at + 60  # type: ignore[attr-defined]
    (lease,) = f.lease(view.due_at + 60, 10)
    assert lease.url == filling and lease.interval_s == 60  # a source now


def test_a_possible_section_looked_at_again_that_is_gone_is_given_up(
    backend_settings: SettingsFactory,
) -> None:
    """A possible section that listed too little and then answers 404 fails for good, rather
    than being polled on the outlet's interval as a source that failed once would be."""
    f = frontier(backend_settings, frontier={"retry_rounds": 3, "section_recheck_min_s": 100})
    page = "http://a.example/neu/"
    f.add([FrontierEntry(page, "listing", "x", depth=1)], T0)
    (lease,) = f.lease(T0, 10)
    f.complete(lease, Outcome(status=200, keep_source=False), T0)
    (lease,) = f.lease(T0 + 100, 10)
    f.fail(lease, HTTPStatusError("HTTP 404", url=page, status=404), T0 + 100)
    assert f.url_view(page) is None  # type: ignore[attr-defined]
    assert [e["url"] for e in f.errors()] == [page]  # type: ignore[attr-defined]


def test_permanent_and_exhausted_failures_are_recorded(backend_settings: SettingsFactory) -> None:
    f = frontier(backend_settings, frontier={"max_attempts": 2})
    f.add(
        [
            FrontierEntry("http://a.example/gone-story-that-is-missing", "article", "x"),
            FrontierEntry("http://b.example/story-on-a-dead-host-here", "article"),
        ],
        T0,
    )
    now = T0
    for _ in range(6):
        for lease in f.lease(now, 10):
            err = (
                HTTPStatusError("HTTP 404", url=lease.url, status=404)
                if lease.host == "a.example"
                else ConnectError("refused", url=lease.url)
            )
            f.fail(lease, err, now)
        now += 60
    errors = {e["url"]: e["kind"] for e in f.errors()}  # type: ignore[attr-defined]
    assert errors == {
        "http://a.example/gone-story-that-is-missing": "http_404",
        "http://b.example/story-on-a-dead-host-here": "connect",
    }
    assert f.pending(now) == 0


def test_limits_against_traps(backend_settings: SettingsFactory) -> None:
    f = frontier(backend_settings, frontier={"max_depth": 2, "max_url_length": 80, "host_page_budget": 3})
    result = f.add(
        [
            FrontierEntry("http://a.example/" + "x" * 100, "article", "x"),
            FrontierEntry("http://a.example/deep-story-far-down-the-tree", "article", "x", depth=3),
            FrontierEntry("http://a.example/a/b/a/b/a/b/a/b/page", "article", "x"),
            FrontierEntry("http://a.example/photo-of-the-day.jpg", "article", "x"),
        ]
        + [FrontierEntry(f"http://a.example/story-{i}-in-budget-check", "article", "x") for i in range(5)],
        T0,
    )
    assert result.rejected == {
        "url_too_long": 1,
        "too_deep": 1,
        "trap": 1,
        "not_a_document": 1,
        "host_budget": 2,
    }
    assert result.added == 3


def test_a_story_whose_site_is_down_for_an_hour_gets_later_rounds_and_is_fetched(
    backend_settings: SettingsFactory,
) -> None:
    """With the default rounds (three, 30 min then 60 min apart) a story whose site refuses
    connections for an hour is fetched once it is back; before session 26 its three attempts
    took 30 s and it failed for good, and a feed listing it again could not bring it back."""
    f = frontier(backend_settings, frontier={"retry_rounds": 3, "retry_round_gap_s": 1800})
    story = "http://down.example/2026/12/06/a-story-published-during-an-outage"
    f.add([FrontierEntry(story, "article", "x")], T0)
    now, tries = T0, []
    while now < T0 + 3600:  # the site is down for this hour
        for lease in f.lease(now, 10):
            tries.append(now - T0)
            f.fail(lease, ConnectError("refused", url=lease.url), now)
        now += 5
    # Rounds of three; within one the host's back-off spaces them (10, 20, 40, 80 s, its 100 s cap).
    assert tries == [0, 10, 30, 1830, 1910, 2010]
    assert f.url_view(story) is not None and f.errors() == []  # type: ignore[attr-defined]
    while not (leases := f.lease(now, 10)):
        now += 5
    assert now - T0 == 2010 + 3600  # the third round
    f.complete(leases[0], Outcome(status=200), now)
    assert f.url_view(story) is None and f.errors() == []  # type: ignore[attr-defined]


def test_the_host_budget_starts_again_each_day_so_a_long_crawl_keeps_finding_news(
    backend_settings: SettingsFactory,
) -> None:
    """The budget counted every URL a host ever had: an outlet publishing 300 stories a day hit
    the default 5,000 in under three weeks, and every later story was refused for good. It is
    now per ``host_budget_window_s`` (a day): a trap still stops there, the news gets in."""
    f = frontier(backend_settings, frontier={"host_page_budget": 3})
    day = backend_settings().frontier.host_budget_window_s
    start = (T0 // day + 1) * day + 10  # early in a window

    def stories(n: int, tag: str) -> list[FrontierEntry]:
        return [
            FrontierEntry(f"http://a.example/2026/12/0{n}/story-{tag}-{i}", "article", "x") for i in range(4)
        ]

    first = f.add(stories(1, "a"), start)
    assert (first.added, first.rejected) == (3, {"host_budget": 1})
    assert f.add(stories(1, "b"), start + day - 20).rejected == {"host_budget": 4}  # same window
    for n in range(2, 5):  # day after day
        result = f.add(stories(n, "c"), start + (n - 1) * day)
        assert (result.added, result.rejected) == (3, {"host_budget": 1}), n


def test_revisit_on_interval_and_until_idle_pass(backend_settings: SettingsFactory) -> None:
    f = frontier(backend_settings)
    f.add([FrontierEntry("http://a.example/", "listing", "x")], T0)
    (lease,) = f.lease(T0, 1)
    f.complete(lease, Outcome(status=200, etag='"v1"'), T0)
    assert f.pending(T0 + 1) == 0
    assert f.lease(T0 + 59, 1) == []
    (again,) = f.lease(T0 + 61, 1)
    assert again.etag == '"v1"'
    f.complete(again, Outcome(status=304), T0 + 61)
    # A pass that started at T0 + 61 does not lease what it fetched itself, even when due again.
    assert f.lease(T0 + 200, 1, fetched_before=T0 + 61) == []
    assert f.pending(T0 + 200, fetched_before=T0 + 61) == 0


def test_leases_survive_a_crash(backend_settings: SettingsFactory) -> None:
    f = frontier(backend_settings, **SHORT_LEASES)
    f.add([FrontierEntry("http://a.example/story-in-flight-at-crash", "article", "x")], T0)
    assert len(f.lease(T0, 1)) == 1
    f.close()  # the process dies with the URL leased
    # The embedded frontier re-queues on reopening; the shared one once the lease times out.
    g = frontier(backend_settings, **SHORT_LEASES)
    (lease,) = g.lease(T0 + 61, 1)
    assert lease.url == "http://a.example/story-in-flight-at-crash"


def test_robots_lease_survives_a_crash(backend_settings: SettingsFactory) -> None:
    f = frontier(backend_settings, politeness=ROBOTS_ON, **SHORT_LEASES)
    f.add([FrontierEntry("http://b.example/story", "article", "x")], T0)
    (robots,) = f.lease(T0, 5)
    assert robots.kind == "robots"
    f.close()  # the robots.txt fetch dies with its worker
    g = frontier(backend_settings, politeness=ROBOTS_ON, **SHORT_LEASES)
    if backend_settings().frontier.backend == "redis":
        assert g.lease(T0 + 30, 5) == []  # other workers wait for the lease to time out
    (again,) = g.lease(T0 + 61, 5)
    assert again.kind == "robots"
    g.set_robots(again.host, None, T0 + 62)
    (lease,) = g.lease(T0 + 63, 5)
    assert lease.url == "http://b.example/story"


def test_a_late_report_of_an_expired_lease_is_ignored(backend_settings: SettingsFactory) -> None:
    if backend_settings().frontier.backend != "redis":
        pytest.skip("leases expire only in the shared frontier")
    f = frontier(backend_settings, **SHORT_LEASES)
    f.add([FrontierEntry("http://b.example/story", "article", "x")], T0)
    (first,) = f.lease(T0, 5)
    (second,) = f.lease(T0 + 61, 5)  # the first holder was too slow: the URL went to another
    f.complete(first, Outcome(status=200), T0 + 62)
    assert f.stats()["urls"] == {"leased": 1}
    f.complete(second, Outcome(status=200), T0 + 63)
    assert f.stats()["urls"] == {"done": 1}


def test_a_lease_is_worked_on_by_the_first_runner_that_claims_it(backend_settings: SettingsFactory) -> None:
    if backend_settings().frontier.backend != "redis":
        pytest.skip("one process runs the embedded frontier's leases")
    f = frontier(backend_settings, politeness=ROBOTS_ON, **SHORT_LEASES)
    f.add([FrontierEntry("http://b.example/story", "article", "x")], T0)
    (robots,) = f.lease(T0, 5)
    # A task delivered twice: its second copy finds every lease started by the first.
    assert f.claim([robots], "first") == [True]
    assert f.claim([robots], "copy") == [False]
    assert f.claim([robots], "first") == [True]  # asking again changes nothing
    f.set_robots("b.example", None, T0 + 1)
    (lease,) = f.lease(T0 + 2, 5)
    assert f.claim([lease, robots], "first") == [True, False]  # the robots lease was reported
    assert f.claim([lease], "copy") == [False]
    # Its holder died: the lease expires and goes out again, and the old claim counts no more.
    (again,) = f.lease(T0 + 63, 5)
    assert f.claim([lease, again], "copy") == [False, True]
    assert f.claim([again], "first") == [False]


def test_a_task_that_starts_after_its_leases_expired_keeps_them_when_it_claims_them(
    backend_settings: SettingsFactory,
) -> None:
    """A task that waited in the queue past the lease timeout (a broker outage) claims its
    leases; the claim renews them in the same step, so the scheduler's next lease call, which
    hands out expired leases again, cannot slip in between the claim and the first heartbeat and
    give the same URL to a second worker (a page fetched twice after a RabbitMQ restart)."""
    f = frontier(backend_settings, **SHORT_LEASES)
    f.add([FrontierEntry("http://b.example/story-that-waited-in-the-queue", "article", "x")], T0)
    (lease,) = f.lease(T0, 5)
    late = T0 + 100  # past the 60 s timeout, and nobody asked for leases since
    assert f.claim([lease], "runner", now=late) == [True]
    assert f.lease(late, 5) == []  # still this runner's: not handed out again
    assert f.lease(late + 61, 5) != []  # its holder went silent after the claim: out again


@pytest.mark.parametrize("robots, allowed", [("User-agent: *\nDisallow: /private/\n", False), (None, True)])
def test_robots_lease_comes_first_and_is_obeyed(
    backend_settings: SettingsFactory, robots: str | None, allowed: bool
) -> None:
    settings = backend_settings(politeness={"min_delay_ms": 500})
    f = build_frontier(settings, OUTLETS)
    f.add([FrontierEntry("http://a.example/private/secret-story-behind-robots", "article", "x")], T0)
    (first,) = f.lease(T0, 5)
    assert first.kind == "robots" and first.url == "http://a.example/robots.txt"
    f.set_robots("a.example", robots, T0)
    assert f.lease(T0 + 0.4, 5) == []  # robots.txt counts as a request for politeness
    leases = f.lease(T0 + 0.6, 5)
    assert bool(leases) is allowed
    if not allowed:
        assert [e["kind"] for e in f.errors()] == ["robots"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "url"), [("feed", "http://feeds.cdn.example/x.rss"), ("sitemap", "http://cdn.example/news.xml")]
)
def test_the_robots_txt_before_a_source_off_its_outlets_hosts_is_that_outlets_to_fetch(
    backend_settings: SettingsFactory, kind: UrlKind, url: str
) -> None:
    """A feed the outlet's page names on another name (a CDN's), or a sitemap its robots.txt
    names there: its host is no outlet's, yet its robots.txt lease names the source's outlet,
    so the scheduler fetches it first while that outlet is in the file, and fetches nothing
    there once it is taken out. A robots.txt before an article names no outlet: the host
    decides, as before. (Sitemaps since session 41.)"""
    f = build_frontier(backend_settings(politeness=ROBOTS_ON), OUTLETS)
    f.add([FrontierEntry(url, kind, "x")], T0)
    f.add([FrontierEntry("http://a.example/2026/12/07/story", "article", "x", 1)], T0)
    robots = {lease.host: lease for lease in f.lease(T0, 5)}
    cdn = host_of(url)
    assert {h: (r.kind, r.outlet) for h, r in robots.items()} == {
        cdn: ("robots", "x"),
        "a.example": ("robots", None),
    }
    scope, gone = OutletScope(OUTLETS), OutletScope([])
    assert not scope.removed(robots[cdn]) and not scope.removed(robots["a.example"])
    assert gone.removed(robots[cdn]) and gone.removed(robots["a.example"])
    f.set_robots(cdn, None, T0)
    (source,) = f.lease(T0 + 1, 5)
    assert (source.kind, source.outlet) == (kind, "x")
    assert not scope.removed(source) and gone.removed(source)


def test_a_change_of_the_delay_settings_reaches_a_host_at_once(backend_settings: SettingsFactory) -> None:
    """Ops raise ``min_delay_ms`` (a site complained) and restart: the host's next spacing is
    the new one, though its robots.txt (Crawl-delay 5) was read under the old settings; then they
    lower ``max_crawl_delay_s`` below that Crawl-delay, and the cap applies at once too. Before
    session 30 the Redis frontier kept the delay it worked out when the robots.txt arrived until
    the next robots.txt fetch (a day later by default)."""
    politeness = {"respect_robots": True, "min_delay_ms": 1000, "max_crawl_delay_s": 30}
    old = build_frontier(backend_settings(politeness=politeness), OUTLETS)
    stories = [f"http://a.example/2026/12/06/story-number-{i}-of-the-day" for i in range(4)]
    old.add([FrontierEntry(url, "article", "x") for url in stories], T0)
    (robots,) = old.lease(T0, 5)
    old.set_robots(robots.host, "User-agent: *\nCrawl-delay: 5\n", T0)
    (first,) = old.lease(T0 + 5, 5)
    old.complete(first, Outcome(status=200), T0 + 5)
    assert old.lease(T0 + 9.9, 5) == [] and len(old.lease(T0 + 10, 5)) == 1  # Crawl-delay 5 s

    stricter = build_frontier(backend_settings(politeness={**politeness, "min_delay_ms": 20_000}), OUTLETS)
    (second,) = stricter.lease(T0 + 100, 5)  # the first lease at T0 + 10 has expired: handed out again
    stricter.complete(second, Outcome(status=200), T0 + 100)
    assert stricter.lease(T0 + 119.9, 5) == []  # 20 s, not the 5 s worked out under the old settings

    capped = build_frontier(
        backend_settings(politeness={**politeness, "min_delay_ms": 0, "max_crawl_delay_s": 2}), OUTLETS
    )
    (third,) = capped.lease(T0 + 120, 5)
    capped.complete(third, Outcome(status=200), T0 + 120)
    assert capped.lease(T0 + 121.9, 5) == []
    assert len(capped.lease(T0 + 122, 5)) == 1  # the Crawl-delay capped at 2 s


def test_a_robots_txt_that_stops_answering_keeps_its_last_copy_or_the_host_waits(
    backend_settings: SettingsFactory,
) -> None:
    """RFC 9309: an unreachable robots.txt (5xx, 429) means "disallow all". Before session 26
    the host was crawled as if it had no rules after three tries (about 30 s); now the last copy
    stands in, and a host with none waits, asked again on the back-off schedule."""
    f = frontier(backend_settings, politeness={**ROBOTS_ON, "robots_ttl_s": 100})
    private = "http://a.example/private/a-story-behind-robots"
    f.add(
        [FrontierEntry("http://b.example/2026/12/06/a-story-on-a-host-that-never-answered", "article", "x")],
        T0,
    )
    (robots_b,) = f.lease(T0, 5)
    now = T0
    for _ in range(6):  # b.example's robots.txt never answers: nothing else of b.example goes out
        assert robots_b.kind == "robots"
        f.set_robots("b.example", None, now, reachable=False)
        host = f.host_view("b.example")
        assert host is not None
        now = host.next_fetch_at
        (robots_b,) = f.lease(now, 5)
    f.add([FrontierEntry(private, "article", "x")], now)
    (robots_a,) = f.lease(now, 5)
    f.set_robots("a.example", "User-agent: *\nDisallow: /private/\n", now)
    now += 200  # the copy is stale: asked again, and the server fails three times
    for _ in range(3):
        (robots_a,) = [lease for lease in f.lease(now, 5) if lease.host == "a.example"]
        assert robots_a.kind == "robots"
        f.set_robots("a.example", None, now, reachable=False)
        host = f.host_view("a.example")
        assert host is not None
        now = max(now, host.next_fetch_at)
    f.lease(now + 1, 5)
    assert private in {e["url"] for e in f.errors()}  # type: ignore[attr-defined]


def test_parsed_robots_files_are_bounded_and_an_evicted_one_still_holds(
    backend_settings: SettingsFactory,
) -> None:
    """A crawl of weeks meets many hosts; a process keeps the parsed robots.txt of the most recent
    few only (one can take hundreds of KiB), and a host it let go of is parsed again from the
    stored file when leased: its rules still hold."""
    f = build_frontier(backend_settings(politeness=ROBOTS_ON), OUTLETS)
    cache = f.robots_cache  # type: ignore[attr-defined]
    cache.size = 3
    hosts = [f"h{n}.example" for n in range(6)]
    f.add([FrontierEntry(f"http://{h}/open/a-story-anyone-may-read", "article", "x") for h in hosts], T0)
    for lease in f.lease(T0, 10):
        assert lease.kind == "robots"
        f.set_robots(lease.host, "User-agent: *\nDisallow: /private/\n", T0)
    opened = f.lease(T0 + 1, 10)
    assert sorted(lease.host for lease in opened) == hosts
    assert len(cache) == 3
    for lease in opened:
        f.complete(lease, Outcome(status=200), T0 + 1)
    f.add([FrontierEntry("http://h0.example/private/a-story-behind-robots", "article", "x")], T0 + 2)
    assert f.lease(T0 + 3, 10) == []
    assert [e["url"] for e in f.errors()] == ["http://h0.example/private/a-story-behind-robots"]  # type: ignore[attr-defined]
    assert len(cache) == 3


def _views(f: Frontier, url: str) -> tuple[Any, ...]:
    view, host = f.url_view(url), f.host_view("a.example")
    url_part = (view.state, round(view.due_at - T0, 3), view.attempts) if view else None
    host_part = (round(host.next_fetch_at - T0, 3), host.in_flight, host.backoff_level, host.robots_attempts)
    return url_part, host_part if host else None


def _decisions(f: Frontier) -> list[Any]:
    """One sequence of events; every lease handed out and every resulting state, as a trace."""
    trace: list[Any] = []
    now = T0

    def lease_one() -> Any:
        (lease,) = f.lease(now, 10)
        trace.append(("lease", lease.url, lease.kind, lease.attempts))
        return lease

    def after(label: str, url: str) -> None:
        trace.append((label, url, *_views(f, url)))

    def wake() -> float:
        host = f.host_view("a.example")
        assert host is not None
        due = [v.due_at for u in urls if (v := f.url_view(u)) is not None and v.state == "queued"]
        return max(host.next_fetch_at, min(due)) if due else host.next_fetch_at

    feed, story, older, oldest = (
        "http://a.example/feed.xml",
        "http://a.example/2026/11/30/the-newest-story-of-all",
        "http://a.example/2026/11/29/an-older-story-of-monday",
        "http://a.example/2026/11/28/the-oldest-story-of-sunday",
    )
    urls = [feed, story, older, oldest]
    f.add(
        [
            FrontierEntry(feed, "feed", "x"),
            FrontierEntry(story, "article", "x", 1, published_ts=T0 - 10),
            FrontierEntry(older, "article", "x", 1, published_ts=T0 - 500),
            FrontierEntry(oldest, "article", "x", 1, published_ts=T0 - 900),
        ],
        now,
    )
    # robots.txt answers 5xx three times: "disallow all" while no copy is known (RFC 9309), so
    # the host waits and robots.txt is asked again; then it answers 404: no rules.
    for _ in range(3):
        lease = lease_one()
        assert lease.kind == "robots"
        f.set_robots("a.example", None, now, reachable=False)
        after("robots_5xx", feed)
        now = wake()
    lease = lease_one()
    assert lease.kind == "robots"
    f.set_robots("a.example", None, now)
    after("robots_404", feed)
    now = wake()
    lease = lease_one()  # feeds first
    f.complete(lease, Outcome(status=200), now)
    after("feed_ok", feed)
    now = wake()
    lease = lease_one()  # newest article first
    f.complete(lease, Outcome(status=200), now)
    after("article_ok", lease.url)
    now = wake()
    lease = lease_one()
    f.fail(lease, HTTPStatusError("429", url=lease.url, status=429, retry_after_s=30), now)
    after("throttled", lease.url)
    now = wake()
    for _ in range(2):  # the 429'd URL again: 5xx until its attempts run out
        lease = lease_one()
        f.fail(lease, HTTPStatusError("503", url=lease.url, status=503), now)
        after("server_error", lease.url)
        now = wake()
    # A lease whose holder died: it expires and is handed out again; the dead holder's late
    # report changes nothing.
    dead = lease_one()
    now += 61
    again = lease_one()
    assert again.url == dead.url
    f.complete(dead, Outcome(status=200), now)
    after("late_report", dead.url)
    f.complete(again, Outcome(status=200), now)
    after("live_report", again.url)
    now = wake()
    lease = lease_one()  # the last article, answered 304
    f.complete(lease, Outcome(status=304), now)
    after("last_304", lease.url)
    trace.append(("errors", [(e["url"], e["kind"], int(e["final"])) for e in f.errors(final_only=False)]))
    trace.append(("pending", f.pending(now), f.in_flight()))
    return trace


def throttled_at(trace: list[Any]) -> float:
    """When the 429 came: the article_ok report's host time minus the host's delay (1 s)."""
    article_ok = next(t for t in trace if t[0] == "article_ok")
    return float(article_ok[3][0]) - 1.0


def test_both_backends_decide_alike(tmp_path: Any) -> None:
    """The policy lives in one module: the SQLite and the Redis frontier make the same decisions."""
    from tests.conftest import REDIS_URL, drop_redis_prefix, make_settings, redis_available

    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}: .ci/run must start it")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    prefix = f"nctest-decide-{uuid.uuid4().hex[:8]}"
    politeness = {"min_delay_ms": 1000, "respect_robots": True, "backoff_base_s": 10, "backoff_max_s": 100}
    traces = []
    try:
        for backend in ("sqlite", "redis"):
            settings = make_settings(
                tmp_path / backend,
                politeness=politeness,
                frontier={"backend": backend, "lease_timeout_s": 60, "max_attempts": 3},
                workers={"task_time_limit_s": 30},
                redis_url=REDIS_URL,
                redis_prefix=prefix,
            )
            traces.append(_decisions(build_frontier(settings, OUTLETS)))
    finally:
        drop_redis_prefix(f"{prefix}:")
    sqlite_trace, redis_trace = traces
    assert sqlite_trace == redis_trace
    # And the decisions are the policy's: three robots attempts, back-off from the Retry-After.
    assert [t[0] for t in sqlite_trace[:6:2]] == ["lease", "lease", "lease"]
    throttled = next(t for t in sqlite_trace if t[0] == "throttled")
    url_state, host_state = throttled[2], throttled[3]
    assert host_state[2] == 1  # back-off level 1
    assert host_state[0] >= 30 + throttled_at(sqlite_trace)  # the Retry-After is honoured
    assert url_state[1] >= host_state[0]  # the URL waits for its host


def test_a_renewed_lease_outlives_the_timeout_and_a_dead_one_does_not(
    backend_settings: SettingsFactory,
) -> None:
    f = frontier(backend_settings, **SHORT_LEASES)
    f.add([FrontierEntry("http://a.example/2026/11/30/a-long-story-to-fetch", "article", "x", 1)], T0)
    (lease,) = f.lease(T0, 10)
    assert f.renew([lease], T0 + 50) == 1  # the holder's heartbeat
    assert f.lease(T0 + 100, 10) == []  # 50 s after the renewal: still held
    assert f.claim([lease], "runner-1") == [True]
    (again,) = f.lease(T0 + 111, 10)  # no heartbeat for 61 s: the holder is taken for dead
    assert again.url == lease.url
    assert f.claim([lease, again], "runner-2") == [False, True]
    assert f.renew([lease], T0 + 112) == 0  # the dead holder's heartbeat renews nothing
    f.complete(lease, Outcome(status=200), T0 + 113)  # nor does its late report count
    assert f.url_view(lease.url) is not None
    f.complete(again, Outcome(status=200), T0 + 114)
    assert f.url_view(lease.url) is None


def test_a_url_whose_holders_die_with_it_three_times_is_given_up(backend_settings: SettingsFactory) -> None:
    """A page that kills the process working on it (memory, a crash in a parser) would come
    back at every lease timeout for ever, taking its batch or the embedded crawl down each
    time. Each expiry counts; at ``max_attempts`` (3) an article fails as ``worker_lost`` and a
    source fetched before waits for its next visit; a URL settled in between starts again."""
    f = frontier(backend_settings, **SHORT_LEASES)
    story = "http://a.example/2026/12/06/a-page-that-kills-workers"
    f.add([FrontierEntry(story, "article", "x", 1)], T0)
    now = T0
    (lease,) = f.lease(now, 10)
    assert (lease.url, lease.lost) == (story, 0)
    now += 61
    (lease,) = f.lease(now, 10)  # expired unclaimed (a slow task queue, a suspect set aside)
    assert (lease.url, lease.lost) == (story, 0)
    for lost in (1, 2):  # its holder starts it, then dies: no report, no heartbeat
        assert f.claim([lease], f"runner-{lost}") == [True]
        now += 61
        (lease,) = f.lease(now, 10)
        assert (lease.url, lease.lost) == (story, lost)
    assert f.claim([lease], "runner-3") == [True]
    now += 61
    assert f.lease(now, 10) == []
    assert f.url_view(story) is None
    (error,) = [e for e in f.errors() if e["url"] == story]
    assert error["kind"] == "worker_lost" and "died 3 times" in error["message"]

    now += 2  # the host's delay after the failure
    f.add([FrontierEntry("http://a.example/", "listing", "x")], now)
    (listing,) = f.lease(now, 1)
    f.complete(listing, Outcome(status=200), now + 1)  # the listing was fetched once
    now += 100  # due again (60 s); its holders die three times as well
    for lost in (0, 1, 2):
        (lease,) = f.lease(now, 10)
        assert (lease.url, lease.lost) == ("http://a.example/", lost)
        assert f.claim([lease], f"runner-{lost}") == [True]
        now += 61
    assert f.lease(now, 10) == []
    view = f.url_view("http://a.example/")
    assert view is not None and view.state == "queued" and view.due_at > now  # its next visit

    other = "http://b.example/2026/12/06/a-story-on-a-flaky-host"
    f.add([FrontierEntry(other, "article", "x", 1)], now)

    def lease_other(at: float) -> Lease:
        (found,) = [lease for lease in f.lease(at, 10) if lease.url == other]
        return found

    f.claim([lease_other(now)], "runner")
    lease = lease_other(now + 61)  # lost once
    assert lease.lost == 1
    f.fail(lease, ConnectError("refused", url=other), now + 62)  # settled: a retry
    lease = lease_other(now + 200)
    assert (lease.lost, lease.attempts) == (0, 1)
    f.close()


def test_a_one_pass_run_does_not_wait_for_revisits_it_made(backend_settings: SettingsFactory) -> None:
    """--until-idle: a source fetched in this pass is due again later, but the pass's wake-up
    ignores it (as its leases do); a URL still to fetch keeps its own wake-up."""
    f = frontier(backend_settings)
    start = T0
    f.add([FrontierEntry("http://a.example/", "listing", "x")], start)
    (lease,) = f.lease(start, 10)
    f.complete(lease, Outcome(status=200), start + 1)
    assert f.next_wakeup(start + 2) == pytest.approx(start + 61)  # its revisit (60 s, the outlet's)
    assert f.next_wakeup(start + 2, fetched_before=start) is None
    f.add([FrontierEntry("http://b.example/a-story-still-to-fetch-today", "article")], start + 2)
    (later,) = f.lease(start + 2, 10)
    f.fail(later, ConnectError("refused", url=later.url), start + 3)  # retried after a back-off
    wake = f.next_wakeup(start + 4, fetched_before=start)
    assert wake is not None and start + 4 < wake < start + 61


def _resting_hosts_with_queued_urls(f: Frontier, hosts: int, urls_per_host: int) -> None:
    """``hosts`` hosts, each just fetched (resting for its delay) with ``urls_per_host`` URLs due."""
    f.add(
        [
            FrontierEntry(f"http://h{h}.example/story-number-{i}-of-a-busy-day", "article", "x", 1)
            for h in range(hosts)
            for i in range(urls_per_host + 1)
        ],
        T0,
    )
    for lease in f.lease(T0, hosts):
        f.complete(lease, Outcome(status=200), T0)


def _lease_steps(tmp_path: Path, urls_per_host: int) -> int:
    """SQLite virtual-machine steps of one lease() that finds one due host among 200 resting ones."""
    settings = make_settings(tmp_path / str(urls_per_host), politeness={"min_delay_ms": 60_000})
    db = open_sqlite(tmp_path / f"frontier-{urls_per_host}.sqlite")
    f = SQLiteFrontier(db, FrontierPolicy.for_outlets(settings, OUTLETS))
    _resting_hosts_with_queued_urls(f, 200, urls_per_host)
    f.add([FrontierEntry("http://fresh.example/the-only-story-due-now", "article", "x", 1)], T0 + 1)
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0  # go on

    db.set_progress_handler(count, 100)
    (lease,) = f.lease(T0 + 2, 10)
    db.set_progress_handler(None, 0)
    assert lease.host == "fresh.example"
    return steps[0] * 100


def test_leasing_costs_the_same_however_many_urls_wait_on_resting_hosts(tmp_path: Path) -> None:
    """The embedded frontier picks due hosts through the per-host index: the cost of a lease grows
    with the hosts, not with every URL queued behind a host that is resting (a crawl of weeks
    queues many). It once searched all due URLs for each host: 25 ms a lease at 900 URLs."""
    few, many = _lease_steps(tmp_path, 1), _lease_steps(tmp_path, 20)
    assert many < 1.5 * few, (few, many)
