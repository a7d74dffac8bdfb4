"""WARC archive and reprocess: the index rebuilt from the archive equals the crawl's.

Real parts: the installed command crawling the demo web on loopback with ``--warc``, warcio's own
``warcio check`` on what was written, Debian's ``wget --warc-file`` as another tool's writer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from newscrawl.app.demo import build_demo_web
from newscrawl.app.localweb import LocalWeb

CLI = [sys.executable, "-m", "newscrawl"]
ENV = {**os.environ, "NEWSCRAWL_POLITENESS__MIN_DELAY_MS": "0", "NEWSCRAWL_FRONTIER__REVISIT_INTERVAL_S": "1"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=ENV, timeout=240, check=False)


def sightings(data: Path) -> dict[str, tuple[float, float]]:
    """Each indexed story's first_seen_at and fetched_at, as seconds."""
    out = cli("export", "--data", str(data))
    return {
        d["id"]: (
            datetime.fromisoformat(d["first_seen_at"]).timestamp(),
            datetime.fromisoformat(d["fetched_at"]).timestamp(),
        )
        for d in map(json.loads, out.stdout.splitlines())
    }


def index(data: Path) -> set[tuple[Any, ...]]:
    out = cli("export", "--data", str(data))
    assert out.returncode == 0, out.stderr[-2000:]
    return {
        (d["id"], d["url"], d["outlet"], d["duplicate_of"], d["body"], tuple(d["also_seen_at"]))
        for d in map(json.loads, out.stdout.splitlines())
    }


def record_types(files: list[Path]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in files:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                counts[record.rec_type] = counts.get(record.rec_type, 0) + 1
    return counts


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, LocalWeb]]:
    """The demo web crawled twice into one data directory with the archive on (the second pass
    revisits listings, feeds and sitemaps: 304s)."""
    tmp = tmp_path_factory.mktemp("archived")
    web, outlets = build_demo_web(articles_per_outlet=4)
    (tmp / "outlets.toml").write_text(outlets)
    with web:
        for _ in range(2):
            crawl = cli(
                "crawl",
                "--outlets",
                str(tmp / "outlets.toml"),
                "--data",
                str(tmp / "crawl"),
                "--until-idle",
                "--quiet",
                "--proxy",
                web.proxy_url,
                "--warc",
                str(tmp / "warcs"),
            )
            assert crawl.returncode == 0, crawl.stderr[-2000:]
            time.sleep(1.5)  # the revisit interval (1 s) passes
        yield tmp, tmp / "crawl", web


def test_every_fetch_is_archived_as_valid_warc(archived: tuple[Path, Path, LocalWeb]) -> None:
    tmp, _, _ = archived
    files = sorted((tmp / "warcs").iterdir())
    assert files and all(f.name.endswith(".warc.gz") for f in files)  # complete: none left ".open"
    assert len({f.name for f in files}) == len(files) >= 2  # one file per run, unique names
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", *map(str, files)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    types = record_types(files)
    assert types["request"] == types["response"] + types.get("revisit", 0)
    assert types.get("revisit", 0) > 0  # the second pass's 304s
    assert types["metadata"] > 0 and types["warcinfo"] == len(files)


def test_reprocess_rebuilds_the_crawls_index(archived: tuple[Path, Path, LocalWeb], tmp_path: Path) -> None:
    tmp, crawl, _ = archived
    started = time.time()
    result = cli("reprocess", str(tmp / "warcs"), "--data", str(tmp_path / "re"), "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    rebuilt = index(tmp_path / "re")
    assert len(rebuilt) >= 16 and rebuilt == index(crawl)
    # Each story was first seen and fetched when the crawl fetched it (its WARC record's date),
    # not when it was read again: before session 31 a rebuilt index dated them all to the rebuild.
    crawled, again_read = sightings(crawl), sightings(tmp_path / "re")
    assert crawled.keys() == again_read.keys()
    for doc_id, (first_seen, fetched) in again_read.items():
        assert first_seen == fetched < started
        assert abs(first_seen - crawled[doc_id][0]) < 5.0
    assert report["indexed"] + report["url_aliases"] >= len(rebuilt)
    # A resumed run finds every record done and indexes nothing again.
    again = json.loads(cli("reprocess", str(tmp / "warcs"), "--data", str(tmp_path / "re"), "--quiet").stdout)
    assert again["indexed"] == 0 and again["skipped"]["done_before"] == report["records"]
    assert index(tmp_path / "re") == rebuilt
    # Filters: one host only.
    host = "harbour-herald.example"
    only = json.loads(
        cli(
            "reprocess", str(tmp / "warcs"), "--data", str(tmp_path / "one"), "--host", host, "--quiet"
        ).stdout
    )
    assert only["skipped"]["host_filtered"] > 0
    assert {d[1].split("/")[2] for d in index(tmp_path / "one")} == {host}


def test_a_warc_cut_mid_record_yields_its_complete_records(
    archived: tuple[Path, Path, LocalWeb], tmp_path: Path
) -> None:
    tmp, _, _ = archived
    first = sorted((tmp / "warcs").iterdir())[0]
    cut = tmp_path / "cut.warc.gz"
    data = first.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])  # as a writer killed with SIGKILL leaves it
    result = cli("reprocess", str(cut), "--data", str(tmp_path / "re"), "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["skipped"]["truncated_file"] == 1
    assert report["indexed"] > 0 and len(index(tmp_path / "re")) == report["indexed"]


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget (Debian's package) is not installed")
def test_another_tools_warc_is_reprocessed(archived: tuple[Path, Path, LocalWeb], tmp_path: Path) -> None:
    _, crawl, web = archived
    urls = sorted({d[1] for d in index(crawl)})[:5]
    # The fixture keeps the demo web serving.
    wget = subprocess.run(
        [
            "wget",
            "-q",
            "-e",
            "use_proxy=yes",
            "-e",
            f"http_proxy={web.proxy_url}",
            "--warc-file",
            str(tmp_path / "wget"),
            "-O",
            "/dev/null",
            *urls,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (tmp_path / "wget.warc.gz").exists(), wget.stderr[-2000:]
    result = cli("reprocess", str(tmp_path / "wget.warc.gz"), "--data", str(tmp_path / "re"), "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    assert {d[1] for d in index(tmp_path / "re")} >= set(urls[:3])


def test_reprocess_in_parallel_processes_gives_the_same_index(
    archived: tuple[Path, Path, LocalWeb], tmp_path: Path
) -> None:
    tmp, crawl, _ = archived
    result = cli("reprocess", str(tmp / "warcs"), "--data", str(tmp_path / "re"), "--jobs", "2", "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["files"] == len(list((tmp / "warcs").iterdir()))
    assert index(tmp_path / "re") == index(crawl)


def test_files_rotate_by_size_with_unique_complete_names(tmp_path: Path) -> None:
    from newscrawl.core.records import Lease
    from workers.archive import WarcArchive

    archive = WarcArchive(tmp_path, max_file_bytes=1, max_file_age_s=3600, user_agent="newscrawl-test")
    lease = Lease(url="http://a.example/x", host="a.example", kind="article", outlet=None, depth=1)
    for n in range(3):
        archive.fetched(
            lease,
            url=f"http://a.example/{n}",
            status=200,
            headers={"content-type": "text/html"},
            body=b"<p>hi</p>",
        )
    archive.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and all(n.endswith(".warc.gz") for n in names), names
    assert record_types(sorted(tmp_path.iterdir())) == {"warcinfo": 3, "request": 3, "response": 3}


def test_an_archive_that_cannot_be_written_pauses_and_the_crawl_goes_on(
    archived: tuple[Path, Path, LocalWeb], tmp_path: Path
) -> None:
    tmp, crawl, web = archived
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the archive directory should be")
    result = cli(
        "crawl",
        "--outlets",
        str(tmp / "outlets.toml"),
        "--data",
        str(tmp_path / "d"),
        "--until-idle",
        "--quiet",
        "--proxy",
        web.proxy_url,
        "--warc",
        str(blocked),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("warc_write_failed") == 1  # said once, then paused
    assert {d[0] for d in index(tmp_path / "d")} == {d[0] for d in index(crawl)}


def test_reprocess_as_celery_tasks_one_per_file(
    archived: tuple[Path, Path, LocalWeb], tmp_path: Path, prefix: str
) -> None:
    """Distributed mode: `reprocess --celery` queues a task per file; a real worker indexes them."""
    from tests.cluster import Cluster, settings_env
    from tests.conftest import REDIS_URL, make_distributed_settings, redis_available

    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    tmp, crawl, _ = archived
    settings = make_distributed_settings(tmp_path / "data", prefix, workers={"queue": f"{prefix}-tasks"})
    cluster = Cluster(settings, tmp_path / "logs")
    want = index(crawl)
    try:
        cluster.start_worker("w1")
        queued = subprocess.run(
            [*CLI, "reprocess", str(tmp / "warcs"), "--celery"],
            capture_output=True,
            text=True,
            env={**ENV, **settings_env(settings)},
            timeout=60,
            check=False,
        )
        assert queued.returncode == 0, queued.stderr[-2000:]
        assert json.loads(queued.stdout)["queued_files"] == len(list((tmp / "warcs").iterdir()))
        deadline = time.monotonic() + 120
        got = index(tmp_path / "data")
        while got != want:  # the tasks run on; the index converges on the crawl's
            assert time.monotonic() < deadline and cluster.alive("w1"), (
                len(got),
                len(want),
                cluster.tail("w1"),
            )
            time.sleep(0.5)
            got = index(tmp_path / "data")
    finally:
        cluster.close()


def test_the_replay_webs_index_is_rebuilt_from_its_archive(replay: Any, tmp_path: Path) -> None:
    """Real pages (many charsets, feeds, sitemaps, client-rendered ones): crawl with the archive
    on, reprocess into an empty data directory, the same index."""
    (tmp_path / "outlets.toml").write_text(replay.outlets_toml, "utf-8")
    crawl = cli(
        "crawl",
        "--outlets",
        str(tmp_path / "outlets.toml"),
        "--data",
        str(tmp_path / "crawl"),
        "--until-idle",
        "--quiet",
        "--proxy",
        replay.web.proxy_url,
        "--warc",
        str(tmp_path / "warcs"),
    )
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    result = cli("reprocess", str(tmp_path / "warcs"), "--data", str(tmp_path / "re"), "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    rebuilt = index(tmp_path / "re")
    assert len(rebuilt) > 250
    assert rebuilt == index(tmp_path / "crawl")
