"""Freshness benchmark on the live web (tests/live_web.py), in real time; prints JSON.

Outlets keep publishing during the run (8 bursty, 20 steady, 12 quiet; about 300 stories in 20
minutes). Per mode, a crawl runs as a user runs it (``newscrawl crawl`` without ``--until-idle``;
or the scheduler and two Celery workers) for the publishing time plus a grace period, then is
stopped with SIGTERM, and the index is read back:

- the share of the stories released during the run that are indexed by its end;
- time to index (first_seen_at minus the release), p50 and p95, overall and per outlet class;
  also from the index alone (first_seen_at minus published_at), as anyone can compute it;
- requests to home pages, feeds and sitemaps, and their share of 304s;
- every 30 s, the crawler's RSS and the size of its data files; their slopes over the second half.

Modes: ``adaptive`` (the defaults), ``home-only`` (the defaults, with an outlets file that gives
each outlet's home page alone: its feed is found in the page's head, its sitemap in robots.txt),
``fixed`` (every source every ``--fixed-interval`` seconds;
by default the interval that spends what the adaptive run spent on sources: sources x run time /
adaptive source requests, so it runs after the adaptive one), ``distributed`` (Redis frontier and
dedup, the scheduler and two workers; the index stays SQLite). Adaptive and distributed run side by
side (each with its own copy of the live web), then fixed.

Usage: python bench/freshness.py [--duration 1200] [--grace 300] [--modes adaptive,home-only,fixed,...]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newscrawl.core.settings import load_settings  # noqa: E402
from tests.cluster import Cluster, settings_env  # noqa: E402
from tests.live_web import CLASSES, LiveSchedule, LiveWeb, corpus_texts  # noqa: E402

REDIS_URL = os.environ.get("NEWSCRAWL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SAMPLE_S = 30.0


def pctl(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def rss_bytes(pid: int) -> int:
    """RSS of ``pid`` and its children (a worker's pool), from /proc."""
    total = 0
    pids = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                pids.append(int(entry))
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def slope_per_h(samples: list[dict[str, Any]], key: str) -> float | None:
    half = samples[len(samples) // 2 :]
    if len(half) < 3:
        return None
    xs = [s["t_s"] / 3600 for s in half]
    ys = [s[key] for s in half]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den) if den else None


def data_bytes(data: Path) -> dict[str, int]:
    out = {}
    for name in ("frontier", "dedup", "index"):
        out[f"{name}_bytes"] = sum(p.stat().st_size for p in data.glob(f"{name}.sqlite*") if p.is_file())
    return out


def export(data: Path) -> list[dict[str, Any]]:
    cmd = [sys.executable, "-m", "newscrawl", "--log-level", "ERROR", "export", "--data", str(data)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def figures(
    schedule: LiveSchedule, live: LiveWeb, docs: list[dict[str, Any]], run_s: float
) -> dict[str, Any]:
    first_seen = {d["url"]: _ts(d.get("first_seen_at")) for d in docs}
    released = schedule.released_during()
    delays: dict[str, list[float]] = {c: [] for c in CLASSES}
    missing: dict[str, int] = {c: 0 for c in CLASSES}
    for a in released:
        cls = schedule.outlet(a.outlet).cls
        seen = first_seen.get(a.url)
        if seen is None or seen - live.t0 > run_s:
            missing[cls] += 1
        else:
            delays[cls].append(seen - (live.t0 + a.released_at))
    everything = [d for c in CLASSES for d in delays[c]]
    from_index = [
        s - p
        for d in docs
        if (s := _ts(d.get("first_seen_at"))) is not None
        and (p := _ts(d.get("published_at"))) is not None
        and p >= live.t0
    ]
    sources = schedule.source_urls()
    requests = [e for e in live.web.log if e.url in sources]
    by_kind: dict[str, int] = {}
    for e in requests:
        kind = "feed" if e.url.endswith("rss.xml") else "sitemap" if "sitemap" in e.url else "home"
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return {
        "released": len(released),
        "indexed_share": round(len(everything) / max(len(released), 1), 4),
        "not_indexed_by_class": missing,
        "time_to_index_s": {
            "all": {"p50": pctl(everything, 50), "p95": pctl(everything, 95)},
            **{
                c: {"p50": pctl(delays[c], 50), "p95": pctl(delays[c], 95), "n": len(delays[c])}
                for c in CLASSES
            },
            "from_index_alone": {
                "p50": pctl(from_index, 50),
                "p95": pctl(from_index, 95),
                "n": len(from_index),
            },
        },
        "source_requests": len(requests),
        "source_requests_by_kind": by_kind,
        "source_requests_by_class": {c: sum(1 for e in requests if sources[e.url] == c) for c in CLASSES},
        "source_304_share": round(sum(e.status == 304 for e in requests) / max(len(requests), 1), 3),
        "article_requests": sum(1 for e in live.web.log if "/news/" in e.url),
    }


def run_mode(
    mode: str, schedule: LiveSchedule, tmp: Path, run_s: float, fixed_interval_s: float | None
) -> dict[str, Any]:
    data = tmp / mode
    data.mkdir(parents=True)
    outlets = tmp / f"{mode}-outlets.toml"
    outlets.write_text(schedule.outlets_toml(home_only=mode == "home-only"), "utf-8")
    live = LiveWeb(schedule).start()
    frontier: dict[str, Any] = {}
    if mode == "fixed":
        frontier = {"revisit": "fixed", "revisit_interval_s": fixed_interval_s}
    cluster: Cluster | None = None
    prefix = f"ncfresh-{uuid.uuid4().hex[:8]}"
    if mode == "distributed":
        settings = load_settings(
            data_dir=data,
            outlets_file=outlets,
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            log_level="WARNING",
            fetch={"proxy": live.web.proxy_url},
            frontier={"backend": "redis"},
            dedup={"backend": "redis"},
            workers={"queue": f"{prefix}-tasks", "batch_size": 4},
        )
        cluster = Cluster(settings, tmp / f"{mode}-logs")
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.start_scheduler(until_idle=False)
        pids = [cluster.procs[n].pid for n in ("w1", "w2", "scheduler")]
    else:
        settings = load_settings(data_dir=data, outlets_file=outlets, log_level="WARNING", frontier=frontier)
        env = {**os.environ, **settings_env(settings)}
        cmd = [sys.executable, "-m", "newscrawl", "crawl", "--outlets", str(outlets), "--data", str(data)]
        cmd += ["--proxy", live.web.proxy_url, "--quiet"]
        log = open(tmp / f"{mode}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        pids = [proc.pid]
    samples = []
    try:
        while live.now() < run_s:
            samples.append(
                {
                    "t_s": round(live.now(), 1),
                    "rss_bytes": sum(rss_bytes(p) for p in pids),
                    **data_bytes(data),
                }
            )
            time.sleep(min(SAMPLE_S, max(run_s - live.now(), 0.1)))
    finally:
        if cluster is not None:
            for name in ("scheduler", "w1", "w2"):
                cluster.stop(name)
            cluster.close()
            _drop_prefix(prefix)
        else:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        live.stop()
    result = figures(schedule, live, export(data), run_s)
    result["samples"] = samples
    result["slopes_per_h"] = {
        k: slope_per_h(samples, k) for k in ("rss_bytes", "frontier_bytes", "index_bytes")
    }
    if fixed_interval_s is not None:
        result["fixed_interval_s"] = round(fixed_interval_s, 1)
    return result


def _drop_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=1200.0, help="seconds of publishing")
    parser.add_argument("--grace", type=float, default=300.0, help="seconds the crawl runs on after")
    parser.add_argument("--modes", default="adaptive,fixed,distributed")
    parser.add_argument("--fixed-interval", type=float, default=None)
    parser.add_argument("--scale", type=float, default=1.0, help="stories per outlet, relative")
    args = parser.parse_args()
    corpora = Path(os.environ.get("NEWSCRAWL_CORPORA", REPO.parent / "shared" / "corpora"))
    schedule = LiveSchedule.build(
        corpus_texts(corpora),
        duration_s=args.duration,
        steady_per_run=max(1, round(11 * args.scale)),
        burst_size=max(1, round(5 * args.scale)),
    )
    modes = args.modes.split(",")
    run_s = args.duration + args.grace
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ncfresh-") as tmp_name:
        tmp = Path(tmp_name)
        first = [m for m in modes if m in ("adaptive", "home-only", "distributed")]
        threads = [
            threading.Thread(
                target=lambda m=m: results.__setitem__(m, run_mode(m, schedule, tmp, run_s, None))
            )
            for m in first
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if "fixed" in modes:
            interval = args.fixed_interval
            if interval is None and "adaptive" in results:
                interval = (
                    len(schedule.source_urls()) * run_s / max(results["adaptive"]["source_requests"], 1)
                )
            results["fixed"] = run_mode("fixed", schedule, tmp, run_s, interval or 120.0)
    summary: dict[str, Any] = {
        "outlets": {c: sum(o.cls == c for o in schedule.outlets) for c in CLASSES},
        "sources": len(schedule.source_urls()),
        "duration_s": args.duration,
        "grace_s": args.grace,
        "modes": results,
    }
    if "adaptive" in results and "fixed" in results:
        a, f = (
            results["adaptive"]["time_to_index_s"]["all"]["p95"],
            results["fixed"]["time_to_index_s"]["all"]["p95"],
        )
        summary["p95_adaptive_over_fixed"] = round(a / f, 3) if a and f else None
        summary["source_requests_adaptive_over_fixed"] = round(
            results["adaptive"]["source_requests"] / max(results["fixed"]["source_requests"], 1), 3
        )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
