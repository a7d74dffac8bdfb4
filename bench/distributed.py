"""Distributed-mode benchmark on the replay web; prints JSON.

In one run, on the same replay web served by a separate process (no politeness delay, so the
workers' CPU is the limit):
- the embedded mode (``newscrawl crawl``), for CPU per page without Celery and Redis;
- the scheduler and N Celery worker processes (one pool process each), for N = 1 and 2, and one
  worker with smaller batches (the concurrency model: leases per task).
Per run: pages/s (pages fetched / wall time from the scheduler's start to its exit, workers already
up), CPU ms per page of the workers (their pool processes and main processes, read from /proc),
of the scheduler and of redis-server, and the pipeline's own CPU as the workers counted it. The
cost of Celery and Redis is everything but the pipeline: workers' CPU outside the pipeline (task
protocol, acks, events, heartbeats), the scheduler and redis-server.

Usage: python bench/distributed.py [--batch-sizes 16,4,1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import redis  # noqa: E402

from newscrawl.core.redis_keys import StatsKeys  # noqa: E402
from newscrawl.core.settings import load_settings  # noqa: E402
from tests.cluster import Cluster  # noqa: E402

REDIS_URL = os.environ.get("NEWSCRAWL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
CLK = os.sysconf("SC_CLK_TCK")
PARTS = ("whole_run", "steady_state")
# No delay and four fetches per host at once: the workers' CPU, not politeness, is the limit.
POLITENESS = {"min_delay_ms": 0, "per_host_concurrency": 4}
PIPELINE_STAGES = ("fetch", "parse", "extract", "frontier", "dedup", "index")


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def tree_pids(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc (no subprocess: the probe must not load the machine)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(parents.get(current, []))
    return out


def tree_cpu_s(pid: int) -> float:
    total = 0.0
    for p in tree_pids(pid):
        with contextlib.suppress(OSError):  # a pool process recycled meanwhile
            total += proc_cpu_s(p)
    return total


def redis_pid() -> int:
    return int(redis.Redis.from_url(REDIS_URL).info("server")["process_id"])


def wait_ready(cluster: Cluster, names: list[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(" ready." in cluster.tail(n, 200_000) for n in names):
        if time.monotonic() > deadline:
            raise SystemExit(f"workers not ready: {[cluster.tail(n) for n in names]}")
        time.sleep(0.1)


@dataclass
class Snapshot:
    at: float
    pages: int
    workers_s: float
    scheduler_s: float
    redis_s: float
    pipeline_s: float
    web_s: float


def figures(a: Snapshot, b: Snapshot) -> dict[str, Any]:
    pages = b.pages - a.pages
    per_page = 1000 / max(pages, 1)
    workers, scheduler, redis_s = (
        b.workers_s - a.workers_s,
        b.scheduler_s - a.scheduler_s,
        b.redis_s - a.redis_s,
    )
    pipeline = b.pipeline_s - a.pipeline_s
    total = workers + scheduler + redis_s
    return {
        "pages": pages,
        "wall_s": round(b.at - a.at, 2),
        "pages_per_s": round(pages / (b.at - a.at), 2),
        "cpu_ms_per_page": {
            "total": round(total * per_page, 2),
            "workers": round(workers * per_page, 2),
            "pipeline": round(pipeline * per_page, 2),
            "scheduler": round(scheduler * per_page, 2),
            "redis_server": round(redis_s * per_page, 2),
        },
        # The replay web's server shares the two cores but is not part of the product.
        "web_server_cpu_ms_per_page": round((b.web_s - a.web_s) * per_page, 2),
        "celery_redis_share": round((total - pipeline) / total, 4) if total else None,
    }


def run_distributed(
    proxy: str, outlets: str, tmp: Path, workers: int, batch_size: int, expected_pages: int, web_pid: int
) -> dict[str, Any]:
    prefix = f"ncbench-{uuid.uuid4().hex[:10]}"
    settings = load_settings(
        data_dir=tmp / prefix,
        outlets_file=outlets,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        log_level="WARNING",
        fetch={"proxy": proxy},
        politeness=POLITENESS,
        frontier={"backend": "redis"},
        dedup={"backend": "redis"},
        workers={"queue": f"{prefix}-tasks", "batch_size": batch_size},
        # A batch running and two waiting per worker: a deeper queue only adds latency.
        scheduler={"max_in_flight": 3 * batch_size * workers},
    )
    cluster = Cluster(settings, tmp / f"{prefix}-logs")
    names = [f"w{i}" for i in range(1, workers + 1)]
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    keys = StatsKeys(prefix)
    rpid = redis_pid()

    def snapshot(scheduler_s: float) -> Snapshot:
        counters = {k: int(v) for k, v in client.hgetall(keys.counters).items()}
        return Snapshot(
            at=time.monotonic(),
            pages=counters.get("pages_fetched", 0),
            workers_s=sum(tree_cpu_s(cluster.procs[n].pid) for n in names),
            scheduler_s=scheduler_s,
            redis_s=proc_cpu_s(rpid),
            pipeline_s=sum(counters.get(f"cpu_us:{s}", 0) for s in PIPELINE_STAGES) / 1e6,
            web_s=proc_cpu_s(web_pid),
        )

    try:
        for name in names:
            cluster.start_worker(name)
        wait_ready(cluster, names)
        time.sleep(1.0)  # let start-up settle (mingle, first heartbeats)
        start = snapshot(0.0)
        cluster.start_scheduler()
        sched = cluster.procs["scheduler"]
        # Steady state: from 20% to 80% of the pages (start-up, ramp and tail left out).
        marks: dict[float, Snapshot] = {}
        while True:
            pid, status, usage = os.wait4(sched.pid, os.WNOHANG)
            if pid:
                end = snapshot(usage.ru_utime + usage.ru_stime)
                sched.returncode = os.waitstatus_to_exitcode(status)
                break
            current = snapshot(tree_cpu_s(sched.pid))
            for frac in (0.2, 0.8):
                if frac not in marks and current.pages >= frac * expected_pages:
                    marks[frac] = current
            time.sleep(0.25)
        if sched.returncode != 0:
            raise SystemExit(cluster.tail("scheduler"))
        tasks = int(client.hget(keys.scheduler, "tasks_dispatched") or 0)
        stage_us = {s: int(client.hget(keys.counters, f"cpu_us:{s}") or 0) for s in PIPELINE_STAGES}
        articles = int(client.hget(keys.counters, "articles_indexed") or 0)
    finally:
        cluster.close()
        stale = list(client.scan_iter(f"{prefix}*", count=1000))
        for i in range(0, len(stale), 500):
            client.delete(*stale[i : i + 500])
        client.close()
    return {
        "workers": workers,
        "batch_size": batch_size,
        "articles": articles,
        "tasks": tasks,
        "whole_run": figures(start, end),
        "pipeline_cpu_ms_per_page": {
            s: round(us / 1000 / max(end.pages, 1), 2) for s, us in stage_us.items()
        },
        "steady_state": figures(marks[0.2], marks[0.8]) if len(marks) == 2 else None,
    }


def run_embedded(proxy: str, outlets: str, tmp: Path) -> dict[str, Any]:
    data = tmp / f"embedded-{time.monotonic_ns()}"
    cmd = [sys.executable, "-m", "newscrawl", "--log-level", "ERROR", "crawl", "--outlets", outlets]
    cmd += ["--proxy", proxy, "--data", str(data), "--until-idle", "--quiet"]
    env = {**os.environ, **{f"NEWSCRAWL_POLITENESS__{k.upper()}": str(v) for k, v in POLITENESS.items()}}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    summary = json.loads(result.stdout)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    pages = summary["pages_fetched"]
    return {
        "pages": pages,
        "articles": summary["articles_indexed"],
        "wall_s": round(wall, 2),
        "pages_per_s": round(pages / wall, 2),
        "cpu_ms_per_page": round(cpu * 1000 / pages, 2),
        "stages_cpu_ms_per_page": {k: round(v * 1000 / pages, 2) for k, v in summary["cpu_s"].items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-sizes", default="16,4,1", help="one-worker runs; the first is the default")
    args = parser.parse_args()
    sizes = [int(x) for x in args.batch_sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        server = subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "serve_replay.py"), str(tmp / "outlets.toml")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        web = json.loads(server.stdout.readline())
        try:
            embedded = run_embedded(web["proxy"], web["outlets"], tmp)
            pages = embedded["pages"]
            one = run_distributed(web["proxy"], web["outlets"], tmp, 1, sizes[0], pages, server.pid)
            two = run_distributed(web["proxy"], web["outlets"], tmp, 2, sizes[0], pages, server.pid)
            batches = [
                run_distributed(web["proxy"], web["outlets"], tmp, 1, b, pages, server.pid) for b in sizes[1:]
            ]
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(10)
    print(
        json.dumps(
            {
                "web_pages": web["pages"],
                "cores": os.cpu_count(),
                "embedded": embedded,
                "one_worker": one,
                "two_workers": two,
                "scaling_two_vs_one": {
                    part: round(two[part]["pages_per_s"] / one[part]["pages_per_s"], 3) for part in PARTS
                },
                # What two cores allow at best: one worker is bound by its own CPU per page, two by
                # everything that runs on the machine (workers, scheduler, Redis, the replay server).
                "scaling_cpu_ceiling": round(
                    (
                        2000
                        / (
                            two["whole_run"]["cpu_ms_per_page"]["total"]
                            + two["whole_run"]["web_server_cpu_ms_per_page"]
                        )
                    )
                    / (1000 / one["whole_run"]["cpu_ms_per_page"]["workers"]),
                    3,
                ),
                "celery_redis_share": {
                    f"{n}_worker{'s' if n > 1 else ''}": {p: run[p]["celery_redis_share"] for p in PARTS}
                    for n, run in ((1, one), (2, two))
                },
                "batch_size_runs": [
                    {
                        "batch_size": r["batch_size"],
                        **{k: r[k]["pages_per_s"] for k in ("whole_run", "steady_state")},
                    }
                    for r in (one, *batches)
                ],
                "distributed_vs_embedded_cpu_per_page": round(
                    one["whole_run"]["cpu_ms_per_page"]["total"] / embedded["cpu_ms_per_page"], 3
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
