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
from newscrawl.core.urls import host_of
from scheduler.outlets import Outlet, parse_outlets
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


def test_an_outlet_taken_out_before_its_first_fetch_costs_no_request_and_the_run_ends(
    backend_settings: SettingsFactory,
) -> None:
    """Seeded and taken out before anything of it was fetched (robots.txt included): the
    one-pass crawl ends, with no request to its hosts. (Its never-fetched sources are retired:
    an outlet put back then is crawled from sources it has fetched before, README.)"""
    web, text = build_demo_web(articles_per_outlet=2)
    outlets = parse_outlets(text)
    gone, *kept = outlets
    gone_hosts = {host_of(url) for url in gone.urls}
    with web:
        settings = backend_settings(
            fetch={"proxy": web.proxy_url}, politeness={"min_delay_ms": 0, "respect_robots": True}
        )
        frontier = build_frontier(settings, outlets)
        seed(frontier, outlets, frontier.now())
        frontier.close()
        components = build_components(settings, kept)
        try:
            asyncio.run(asyncio.wait_for(CrawlEngine(components).run(until_idle=True), timeout=60))
            removed = [e["url"] for e in components.frontier.errors() if e["kind"] == "outlet_removed"]
        finally:
            components.close()
        fetched = {host_of(e.url) for e in web.log}
    assert fetched and not fetched & gone_hosts, sorted(fetched & gone_hosts)
    assert set(gone.urls) <= set(removed)


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
