"""The embedded crawl under store faults: a SQLite file locked by another process, a full disk.

Real parts: the installed command in a subprocess, the demo web on loopback, a real lock taken by
another SQLite connection, a real filesystem (tmpfs of a few MB) filled to the last byte. For
each: the crawl exits 0, says when the outage started and ended (naming the file), ends with
exactly the index of an undisturbed crawl, and every SQLite file passes ``integrity_check``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newscrawl.app.demo import build_demo_web
from newscrawl.app.localweb import LocalWeb

CLI = [sys.executable, "-m", "newscrawl"]
ENV = {**os.environ, "NEWSCRAWL_POLITENESS__MIN_DELAY_MS": "100"}


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[LocalWeb, str]]:
    web, outlets = build_demo_web(articles_per_outlet=5)
    with web:
        yield web, outlets


def _start(web: LocalWeb, outlets: Path, data: Path) -> subprocess.Popen[str]:
    args = [*CLI, "crawl", "--outlets", str(outlets), "--data", str(data), "--until-idle", "--quiet"]
    return subprocess.Popen(
        [*args, "--proxy", web.proxy_url], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _index(data: Path) -> set[tuple[str, str, str | None]]:
    out = subprocess.run([*CLI, "export", "--data", str(data)], capture_output=True, text=True, check=True)
    return {(d["id"], d["url"], d["duplicate_of"]) for d in map(json.loads, out.stdout.splitlines())}


def _documents(data: Path) -> int:
    path = data / "index.sqlite"
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=30)
    try:
        return int(db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def _intact(data: Path) -> None:
    for name in ("frontier.sqlite", "dedup.sqlite", "index.sqlite"):
        db = sqlite3.connect(data / name)
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", name
        finally:
            db.close()


@pytest.fixture(scope="module")
def undisturbed(
    demo: tuple[LocalWeb, str], tmp_path_factory: pytest.TempPathFactory
) -> set[tuple[str, str, str | None]]:
    web, outlets = demo
    tmp = tmp_path_factory.mktemp("undisturbed")
    (tmp / "outlets.toml").write_text(outlets)
    proc = _start(web, tmp / "outlets.toml", tmp / "d")
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-2000:]
    return _index(tmp / "d")


def _wait_for_documents(proc: subprocess.Popen[str], data: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while _documents(data) < count:
        assert proc.poll() is None and time.monotonic() < deadline, "the crawl ended before the fault"
        time.sleep(0.05)


def _report_recovery(event: str, proc: subprocess.Popen[str], data: Path, before: int) -> None:
    """Time from the fault's end to the next document indexed (or the crawl's end)."""
    back = time.monotonic()
    while _documents(data) <= before and proc.poll() is None:
        assert time.monotonic() - back < 30, f"no progress within 30 s of: {event}"
        time.sleep(0.05)
    print(f"\n{event}: progress {time.monotonic() - back:.1f} s later")


def test_a_locked_sqlite_file_is_waited_out(
    demo: tuple[LocalWeb, str], undisturbed: set[tuple[str, str, str | None]], tmp_path: Path
) -> None:
    web, outlets = demo
    (tmp_path / "outlets.toml").write_text(outlets)
    data = tmp_path / "d"
    proc = _start(web, tmp_path / "outlets.toml", data)
    _wait_for_documents(proc, data, 3)
    # Another process takes the index's write lock for longer than the busy timeout (10 s).
    locker = sqlite3.connect(data / "index.sqlite", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    time.sleep(14)
    assert proc.poll() is None, "the crawl gave up on a locked file"
    before = _documents(data)
    locker.execute("COMMIT")
    locker.close()
    _report_recovery("lock released", proc, data, before)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    assert "store_outage_started" in err and "index.sqlite" in err and "store_outage_ended" in err
    assert "Traceback" not in err
    _intact(data)
    assert _index(data) == undisturbed


def test_a_full_disk_is_waited_out(
    demo: tuple[LocalWeb, str], undisturbed: set[tuple[str, str, str | None]], tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode()[:200]}")
    try:
        web, outlets = demo
        (tmp_path / "outlets.toml").write_text(outlets)
        data = disk / "d"
        proc = _start(web, tmp_path / "outlets.toml", data)
        _wait_for_documents(proc, data, 3)
        filler = disk / "filler"
        with filler.open("wb") as out:  # every last byte
            try:
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            except OSError:
                pass
        time.sleep(5)
        assert proc.poll() is None, "the crawl gave up on a full disk"
        before = _documents(data)
        filler.unlink()
        _report_recovery("space freed", proc, data, before)
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        assert "store_outage_started" in err and "store_outage_ended" in err, err[-3000:]
        assert "Traceback" not in err
        _intact(data)
        assert _index(data) == undisturbed
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
