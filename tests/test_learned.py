"""What one process learns of a host's addresses, every process knows (newscrawl/core/learned.py).

Each test builds two page processors through the factory on one store, as two Celery pool
processes (Redis) or an embedded crawl and its restart (SQLite) have: the evidence is seen by
the first, the second applies what it showed.
"""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from newscrawl.app.factory import build_learned, build_processor
from newscrawl.core.errors import StoreError
from newscrawl.core.learned import LearnedFacts, RedisFacts
from newscrawl.core.records import Lease
from newscrawl.core.redis_connections import redis_client
from newscrawl.core.settings import Settings
from scheduler.outlets import Outlet, parse_outlets
from tests.conftest import SettingsFactory
from workers.fetch import FetchResponse
from workers.pipeline import PageProcessor

SITE = "https://a.example"
OUTLETS: list[Outlet] = parse_outlets(f'[[outlet]]\nname = "A"\nurls = ["{SITE}/"]\n')


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _response(url: str, body: str, content_type: str) -> FetchResponse:
    return FetchResponse(url, url, 200, {"content-type": content_type}, body=body.encode(), text=body)


def _feed(processor: PageProcessor, stories: list[str]) -> list[str]:
    items = "".join(f"<item><title>t</title><link>{u}</link></item>" for u in stories)
    rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    url = f"{SITE}/feed.xml"
    result = processor.process(
        Lease(url, "a.example", "feed", "A", 0), _response(url, rss, "application/rss+xml")
    )
    assert result.error is None
    return [e.url for e in result.entries if e.kind == "article"]


def _home(processor: PageProcessor, links: list[str]) -> list[str]:
    teasers = "".join(
        f'<li><a href="{u}">A teaser headline for the story {n}</a></li>' for n, u in enumerate(links)
    )
    html = f"<html><head><title>A</title></head><body><ul>{teasers}</ul></body></html>"
    result = processor.process(
        Lease(f"{SITE}/", "a.example", "listing", "A", 0), _response(f"{SITE}/", html, "text/html")
    )
    assert result.error is None
    return [e.url for e in result.entries if e.kind == "article"]


def _story(processor: PageProcessor, url: str, canonical: str) -> None:
    text = "The harbour council met again today to talk about the ferries and the fares. " * 30
    html = (
        f'<html><head><link rel="canonical" href="{canonical}"><title>A story</title></head>'
        f"<body><article><h1>A story</h1><p>{text}</p></article></body></html>"
    )
    result = processor.process(Lease(url, "a.example", "article", "A", 1), _response(url, html, "text/html"))
    assert result.document is not None


def _learned_count(kind: str) -> float:
    return REGISTRY.get_sample_value("newscrawl_learned_facts_total", {"kind": kind}) or 0.0


FEED_STORIES = [f"{SITE}/news/articles/{id_}" for id_ in ("clymn8zyrp9o", "c4gv2rl7ko1o", "cx2l9d5w0p3o")]
ON_HOME = f"{SITE}/news/articles/c93kq1e2mz7o"  # the URL rule alone takes it for no story


def test_a_story_shape_one_process_learned_from_a_feed_makes_another_processs_home_page_links_stories(
    backend_settings: SettingsFactory,
) -> None:
    settings = backend_settings()
    clock = Clock()
    reads_feed = build_processor(settings, OUTLETS, build_learned(settings, clock=clock))
    other = build_learned(settings, clock=clock)
    reads_home = build_processor(settings, OUTLETS, other)
    assert _home(reads_home, [ON_HOME]) == []  # nothing learned yet (and that is now cached)

    learned_before = _learned_count("shape")
    assert _feed(reads_feed, FEED_STORIES) == FEED_STORIES
    assert _learned_count("shape") == learned_before + 1  # ops see it (newscrawl_learned_facts_total)
    clock.now += settings.frontier.learned_refresh_s
    assert _home(reads_home, [ON_HOME]) == [ON_HOME]

    # A process started afterwards (a replaced pool process, the embedded crawl restarted) knows it
    # from the start; a fact older than its lifetime is gone, to be learned again.
    assert _home(build_processor(settings, OUTLETS, build_learned(settings, clock=clock)), [ON_HOME]) == [
        ON_HOME
    ]
    clock.now += settings.frontier.learned_ttl_s
    assert _home(build_processor(settings, OUTLETS, build_learned(settings, clock=clock)), [ON_HOME]) == []


def test_a_tracking_parameter_one_process_learned_is_dropped_by_another(
    backend_settings: SettingsFactory,
) -> None:
    """Two stories whose canonical URLs drop ``?src=rss``, read by one process: the feed another
    process reads links the next story without it (fetched once, under its own address)."""
    settings = backend_settings()
    clock = Clock()
    reads_stories = build_processor(settings, OUTLETS, build_learned(settings, clock=clock))
    reads_feed = build_processor(settings, OUTLETS, build_learned(settings, clock=clock))
    later = f"{SITE}/2026/12/06/harbour-story-number-3"
    assert _feed(reads_feed, [f"{later}?src=rss"]) == [f"{later}?src=rss"]
    for n in (1, 2):
        story = f"{SITE}/2026/12/06/harbour-story-number-{n}"
        _story(reads_stories, f"{story}?src=rss", story)
    clock.now += settings.frontier.learned_refresh_s
    assert _feed(reads_feed, [f"{later}?src=rss"]) == [later]


def test_evidence_that_several_processes_saw_shows_the_fact_to_all(backend_settings: SettingsFactory) -> None:
    """Pool processes take an outlet's pages in turn: two stories that drop ``?src=rss``, read by
    two processes, show the parameter as two read by one do, and three feeds read by three
    processes, one story of a shape each, show the shape. Before session 35 each process
    counted only what it saw itself: with eight of them, a story could be fetched under both
    addresses until one process had read two. The same story seen again is no more evidence."""
    settings = backend_settings()
    clock = Clock()
    processors = [build_processor(settings, OUTLETS, build_learned(settings, clock=clock)) for _ in range(3)]
    story = f"{SITE}/2026/12/06/harbour-story-number-1"
    for _ in range(3):  # one story read again and again (refetched, or linked twice)
        _story(processors[0], f"{story}?src=rss", story)
    later = f"{SITE}/2026/12/06/harbour-story-number-3"
    assert _feed(processors[2], [f"{later}?src=rss"]) == [f"{later}?src=rss"]
    other = f"{SITE}/2026/12/06/harbour-story-number-2"
    _story(processors[1], f"{other}?src=rss", other)
    clock.now += settings.frontier.learned_refresh_s
    assert _feed(processors[2], [f"{later}?src=rss"]) == [later]

    for _ in range(3):
        _feed(processors[0], FEED_STORIES[:1])
    clock.now += settings.frontier.learned_refresh_s
    assert _home(processors[0], [ON_HOME]) == []
    for processor, feed_story in zip(processors[1:], FEED_STORIES[1:], strict=True):
        _feed(processor, [feed_story])
    clock.now += settings.frontier.learned_refresh_s
    assert all(_home(processor, [ON_HOME]) == [ON_HOME] for processor in processors)


def test_a_host_cannot_grow_the_store_without_bound(backend_settings: SettingsFactory) -> None:
    settings = backend_settings()
    learned = build_learned(settings)
    for n in range(200):
        learned.learn("a.example", "param", f"p{n}")
    fresh = build_learned(settings)
    assert 0 < len(fresh.facts("a.example", "param")) <= 64
    # Nor with evidence for facts it never shows: past 128 pending, a new one is not taken.
    for n in range(300):
        learned.witness("b.example", "param", f"q{n}", f"{SITE}/story-{n}", 2)
    for item in ("one", "two"):
        learned.witness("b.example", "param", "late", f"{SITE}/{item}", 2)
    assert "late" not in build_learned(settings).facts("b.example", "param")
    for item in ("one", "two"):  # one that was taken still gathers evidence
        learned.witness("b.example", "param", "q0", f"{SITE}/{item}", 2)
    assert "q0" in build_learned(settings).facts("b.example", "param")


def test_a_store_out_of_reach_is_an_outage_for_the_page_not_its_failure() -> None:
    """Redis gone while a listing is read: the page is not failed (it would be recorded as an
    error and its links lost); StoreError goes up to the handler, which settles it again later."""
    dead: Any = redis_client("redis://127.0.0.1:1/0", "learned", decode_responses=True, ping=False)
    processor = build_processor(Settings(), OUTLETS, LearnedFacts(RedisFacts(dead, "nctest-dead")))
    with pytest.raises(StoreError):
        _home(processor, [ON_HOME])
