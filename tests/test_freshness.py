"""A crawl that keeps running on a web that keeps publishing, and the source health it reports.

Real parts: the installed ``newscrawl crawl`` command with its default settings (no
``--until-idle``), the live web on loopback (tests/live_web.py) publishing in real time, SIGINT to
stop it as a user would, ``newscrawl export`` and ``newscrawl stats`` to read the results. The
full 20-minute run with its figures is ``bench/freshness.py``.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from newscrawl.app.factory import Stores, _health_from
from tests.conftest import SettingsFactory
from tests.live_web import LiveSchedule, LiveWeb, corpus_texts
from workers.health import HOUR_S

CLI = [sys.executable, "-m", "newscrawl"]
T0 = 1_800_000_000.0 - 1_800_000_000.0 % HOUR_S + 600  # ten minutes into an hour


def test_source_health_per_outlet_in_both_backends(backend_settings: SettingsFactory) -> None:
    settings = backend_settings()
    health = _health_from(settings, Stores(settings))
    for i in range(10):  # "good": a story every 6 minutes, bodies of 2,000-3,000 characters
        health.article("good", 2000 + 100 * i, T0 - 3600 + 360 * i)
    health.article("old", 2500, T0 - 3 * 86400)  # silent for three days
    for i in range(4):  # "broken": one page extracted, then four that failed, in the last hour
        health.failed("broken", T0 - 300 + i)
    health.article("broken", 180, T0 - 2000)
    report = health.report(T0)
    health.close()
    assert set(report) == {"good", "old", "broken"}
    good = report["good"]
    assert good["articles_last_24h"] == 10 and good["articles_this_hour"] == 1  # since :00
    assert good["new_per_hour_24h"] == round(10 / 24, 2)
    assert good["since_last_article_s"] == pytest.approx(360, abs=1)
    assert good["extraction_failure_rate_24h"] == 0.0
    assert 2000 <= good["median_body_chars_24h"] <= 2800  # a histogram's median: within ~10%
    old = report["old"]
    assert old["articles_last_24h"] == 0 and old["articles_last_7d"] == 1
    assert old["since_last_article_s"] == pytest.approx(3 * 86400, abs=1)
    assert old["median_body_chars_24h"] is None and old["median_body_chars_7d"] is not None
    assert report["broken"]["extraction_failure_rate_24h"] == 0.8
    assert report["broken"]["median_body_chars_24h"] < 250


def _export(data: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [*CLI, "export", "--data", str(data)], capture_output=True, text=True, timeout=120, check=True
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.mark.timeout(400)
def test_a_continuous_crawl_indexes_what_is_published_while_it_runs(tmp_path: Path, corpora: Path) -> None:
    """Default settings, no --until-idle: stories released while the crawl runs are indexed,
    sources answer 304 when unchanged, hosts get their delay, and the index tells time to index."""
    duration_s, grace_s = 30.0, 60.0
    schedule = LiveSchedule.build(
        corpus_texts(corpora),
        duration_s=duration_s,
        counts=(2, 2, 3),
        steady_per_run=3,
        burst_size=3,
        bursts=1,
        burst_span_s=15.0,
    )
    released = {a.url: a for a in schedule.released_during()}
    assert len(released) >= 12
    # One quiet outlet (nothing new during the run) is pinned to a short interval in the outlets
    # file, so its unchanged pages come back within the run: they must cost a 304 and no body.
    silent = next(
        o
        for o in schedule.outlets
        if o.cls == "quiet" and o.feed and not any(a.released_at >= 0 for a in o.articles)
    )
    outlets = tmp_path / "outlets.toml"
    outlets.write_text(
        schedule.outlets_toml().replace(
            f'name = "{silent.name}"\n', f'name = "{silent.name}"\nrevisit_interval_s = 15\n'
        )
    )
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSCRAWL_")}
    with LiveWeb(schedule) as live:
        crawl = subprocess.Popen(
            [
                *CLI,
                "crawl",
                "--outlets",
                str(outlets),
                "--data",
                str(data),
                "--proxy",
                live.web.proxy_url,
                "--quiet",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            while live.now() < duration_s + grace_s:
                assert crawl.poll() is None, crawl.communicate()[1][-3000:]
                time.sleep(1.0)
            crawl.send_signal(signal.SIGINT)
            stdout, stderr = crawl.communicate(timeout=60)
        finally:
            if crawl.poll() is None:
                crawl.kill()
    assert crawl.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout)
    assert summary["articles_indexed"] >= len(released)

    docs = {d["url"]: d for d in _export(data)}
    indexed = [u for u in released if u in docs]
    assert len(indexed) >= 0.9 * len(released), sorted(set(released) - set(docs))
    for url in indexed:
        doc = docs[url]
        published = datetime.fromisoformat(doc["published_at"]).timestamp()
        first_seen = datetime.fromisoformat(doc["first_seen_at"]).timestamp()
        # published_at is the story's release; first_seen_at its indexing: the difference is the
        # time to index, computable from the index alone.
        assert published == pytest.approx(live.t0 + released[url].released_at, abs=1.0)
        assert 0 < first_seen - published < duration_s + grace_s

    sources = schedule.source_urls()
    source_requests = [e for e in live.web.log if e.url in sources]
    pinned = {url for url, _ in silent.sources()}
    assert [e.status for e in source_requests if e.url in pinned].count(304) >= 3  # no body again
    # The log (INFO, the default) does not grow with revisits: a few lines for the whole run.
    assert len(source_requests) > 25 and len(stderr.splitlines()) < 20, stderr[-3000:]
    by_host: dict[str, list[float]] = {}
    for e in live.web.log:
        by_host.setdefault(e.host, []).append(e.at)
    for host, times in by_host.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps, default=1.0) >= 0.9, host  # the default delay of one second, per host

    stats = subprocess.run(
        [*CLI, "stats", "--data", str(data)], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    health = json.loads(stats.stdout)["outlets"]
    steady = [o.name for o in schedule.outlets if o.cls == "steady"]
    assert all(health[name]["articles_last_24h"] >= 3 for name in steady)
    assert all(health[name]["since_last_article_s"] < duration_s + grace_s for name in steady)
    assert all(health[name]["median_body_chars_24h"] > 500 for name in steady)
