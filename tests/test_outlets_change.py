"""An outlets file edited while the crawl lives on: an outlet taken out is no longer fetched,
and put back, it is crawled again. Both frontier backends, the embedded engine, real HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import redis

from newscrawl.app.demo import build_demo_web
from newscrawl.app.engine import CrawlEngine
from newscrawl.app.factory import build_components, build_frontier, build_scheduler
from newscrawl.core.records import FrontierEntry
from newscrawl.core.urls import host_of
from scheduler.outlets import Outlet, OutletScope, parse_outlets
from scheduler.policy import seed
from tests.conftest import REDIS_URL, SettingsFactory, make_settings, require_redis

REVISIT_S = 1.0


def _crawl(settings_for: SettingsFactory, proxy: str, outlets: list[Outlet]) -> None:
    settings = settings_for(
        fetch={"proxy": proxy},
        politeness={"min_delay_ms": 0},
        frontier={"revisit": "fixed", "revisit_interval_s": REVISIT_S, "revisit_min_s": REVISIT_S},
    )
    components = build_components(settings, outlets)
    try:
        asyncio.run(CrawlEngine(components).run(until_idle=True))
    finally:
        components.close()


def test_an_outlet_taken_out_of_the_file_is_not_fetched_and_put_back_is_crawled_again(
    backend_settings: SettingsFactory,
) -> None:
    web, text = build_demo_web(articles_per_outlet=2)
    outlets = parse_outlets(text)
    gone, *kept = outlets
    gone_hosts = {host_of(url) for url in gone.urls}
    with web:
        _crawl(backend_settings, web.proxy_url, outlets)
        assert gone_hosts & {host_of(e.url) for e in web.log}, "the outlet was crawled at first"
        time.sleep(REVISIT_S * 1.5)  # its sources are due again
        start = len(web.log)
        _crawl(backend_settings, web.proxy_url, kept)
        without = {host_of(e.url) for e in web.log[start:]}
        assert without and not without & gone_hosts, sorted(without & gone_hosts)
        time.sleep(REVISIT_S * 1.5)
        start = len(web.log)
        _crawl(backend_settings, web.proxy_url, outlets)
        back = [e.url for e in web.log[start:] if host_of(e.url) in gone_hosts]
    assert set(gone.urls) <= set(back), "its sources are crawled again"


def test_a_source_never_fetched_when_its_outlet_went_is_kept_for_its_return(
    backend_settings: SettingsFactory,
) -> None:
    """A source whose outlet left the file before its first fetch (a sitemap found in a sitemap
    index, say) is put off, not retired: a retired URL would stay in the seen filter, and the
    outlet's return could not queue it again."""
    settings = backend_settings(politeness={"min_delay_ms": 0, "respect_robots": False})
    frontier = build_frontier(settings, [])
    try:
        now = frontier.now()
        frontier.add([FrontierEntry("http://gone.example/sitemap-2.xml", "sitemap", "gone")], now)
        (lease,) = frontier.lease(now, 1)
        assert lease.fetched_at is None
        frontier.fail(lease, OutletScope([]).error(lease), now)
        assert frontier.url_view(lease.url) is not None, "retired"
        interval = settings.frontier.revisit_interval_s
        assert frontier.lease(now + interval - 1, 1) == []
        (again,) = frontier.lease(now + interval + 1, 1)
        assert again.url == lease.url
    finally:
        frontier.close()


def test_the_distributed_scheduler_sends_no_task_for_an_outlet_taken_out(prefix: str, tmp_path: Path) -> None:
    """The scheduler of the distributed mode, restarted on an outlets file without one outlet:
    what it queues on the broker (Redis, read back) names none of that outlet's URLs."""
    require_redis()
    _web, text = build_demo_web(articles_per_outlet=2)
    outlets = parse_outlets(text)
    gone, *kept = outlets
    settings = make_settings(
        tmp_path / "data",
        politeness={"min_delay_ms": 0, "respect_robots": False},
        frontier={"backend": "redis"},
        redis_url=REDIS_URL,
        redis_prefix=prefix,
    )
    frontier = build_frontier(settings, outlets)
    seed(frontier, outlets, frontier.now())  # the crawl as it ran before the edit
    scheduler = build_scheduler(settings, kept)
    try:
        scheduler.seed(frontier.now())
        while scheduler.tick(frontier.now(), None):
            pass
        queued = redis.Redis.from_url(REDIS_URL).lrange(settings.task_queue, 0, -1)
    finally:
        scheduler.frontier.close()
        frontier.close()
    sent = {
        lease["url"]
        for message in queued
        for lease in json.loads(base64.b64decode(json.loads(message)["body"]))[0][0]
    }
    # One URL per host at a time (no worker reports back here): every kept outlet's host, and
    # none of the one taken out.
    assert {host_of(url) for url in sent} == {host_of(url) for outlet in kept for url in outlet.urls}
    assert not {host_of(url) for url in sent} & {host_of(url) for url in gone.urls}
