"""A crawl leaves the objects it starts with out of the cyclic collector while it runs."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from newscrawl.app.cli.common import run_crawl
from newscrawl.app.demo import build_demo_web
from newscrawl.app.engine import CrawlEngine
from newscrawl.core.heap import startup_objects_frozen
from tests.conftest import make_settings


def test_the_objects_made_before_the_block_are_frozen_inside_it_only() -> None:
    assert gc.get_freeze_count() == 0
    with startup_objects_frozen():
        assert gc.get_freeze_count() > 10_000  # the interpreter, pytest, newscrawl's modules
    assert gc.get_freeze_count() == 0


def test_an_embedded_crawl_runs_with_its_startup_objects_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_at_start: list[int] = []
    real_run = CrawlEngine.run

    async def watched_run(self: CrawlEngine, **kwargs: Any) -> Any:
        frozen_at_start.append(gc.get_freeze_count())
        return await real_run(self, **kwargs)

    monkeypatch.setattr(CrawlEngine, "run", watched_run)
    web, outlets = build_demo_web(articles_per_outlet=2)
    (tmp_path / "outlets.toml").write_text(outlets)
    with web:  # the proxy's port is known once it listens
        settings = make_settings(
            tmp_path / "d", fetch={"proxy": web.proxy_url}, politeness={"min_delay_ms": 0}
        )
        summary = run_crawl(settings, str(tmp_path / "outlets.toml"), True, None, progress=False)
    assert summary["articles_indexed"] >= 8 and not summary["errors"]
    assert frozen_at_start and frozen_at_start[0] > 10_000
    assert gc.get_freeze_count() == 0  # thawed once the crawl is over


_TABLES_BUILT = """
import json
import htmldate.extractors, dateparser.timezone_parser, tld.utils, trafilatura.external
from workers import celery

celery._freeze_startup_objects()
print(json.dumps({
    "justext stoplists": trafilatura.external.JT_STOPLIST is not None,
    "public suffixes": bool(tld.utils.tld_names),
    "month names": htmldate.extractors.month_words.cache_info().currsize == 1,
    "time-zone patterns": dateparser.timezone_parser._build_tz_regexes.cache_info().currsize == 1,
}))
"""


def test_a_celery_workers_parent_builds_the_extraction_tables_its_pool_processes_share() -> None:
    """Built before the fork, the tables (a second of CPU, 30 MB) are shared by the pool's
    processes instead of being built by each, again whenever one is replaced."""
    out = subprocess.run(
        [sys.executable, "-c", _TABLES_BUILT], capture_output=True, text=True, check=True, timeout=120
    )
    built = json.loads(out.stdout.strip().splitlines()[-1])
    assert built == dict.fromkeys(built, True) and len(built) == 4
