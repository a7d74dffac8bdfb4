"""End-to-end crawl benchmark on the replay web; prints JSON.

In one run, on the same replay web served by a separate process:
- newscrawl: ``newscrawl crawl --until-idle`` through the proxy, with its per-stage CPU breakdown;
- Scrapy + trafilatura (bench/scrapy_baseline.py), same seeds, same discovery rule, robots obeyed;
- the floor: parsing the same bodies with lxml alone, nothing else.
CPU is the crawler process's user+system time (children's rusage), so the server is not counted.

Usage: python bench/crawl.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    cpu0, t0 = _children_cpu(), time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed: {result.stderr[-3000:]}")
    return result, time.monotonic() - t0, _children_cpu() - cpu0


def run_newscrawl(proxy: str, outlets: str, tmp: Path) -> dict[str, Any]:
    data = tmp / f"nc-{time.monotonic_ns()}"
    cmd = [
        sys.executable,
        "-m",
        "newscrawl",
        "--log-level",
        "ERROR",
        "crawl",
        "--outlets",
        outlets,
        "--proxy",
        proxy,
        "--data",
        str(data),
        "--until-idle",
        "--quiet",
    ]
    result, wall, cpu = _timed(cmd, {"NEWSCRAWL_POLITENESS__MIN_DELAY_MS": "0"})
    summary = json.loads(result.stdout)
    pages = summary["pages_fetched"] + summary["robots_fetched"]
    articles = summary["articles_indexed"]
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "pages": pages,
        "articles": articles,
        "pages_per_s": round(pages / wall, 1),
        "cpu_ms_per_page": round(1000 * cpu / pages, 2),
        "cpu_ms_per_article": round(1000 * cpu / articles, 2),
        "stage_cpu_ms_per_page": {k: round(1000 * v / pages, 2) for k, v in summary["cpu_s"].items()},
        "startup_and_other_cpu_s": round(cpu - sum(summary["cpu_s"].values()), 2),
        "errors": summary["errors"],
    }


def run_scrapy(proxy: str, outlets: str, tmp: Path) -> dict[str, Any]:
    out = tmp / f"scrapy-{time.monotonic_ns()}.jsonl"
    cmd = [sys.executable, str(REPO / "bench" / "scrapy_baseline.py"), outlets, proxy, str(out)]
    _result, wall, cpu = _timed(cmd, {})
    articles = sum(1 for _ in out.open())
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "articles": articles,
        "cpu_ms_per_article": round(1000 * cpu / articles, 2),
    }


def lxml_floor() -> dict[str, Any]:
    from tests.conftest import corpora_path
    from tests.replay import build_replay_web

    replay = build_replay_web(corpora_path(), crawl_delay_every=10_000)
    bodies = [r.body for r in replay.web.resources.values() if r.body]
    start = time.process_time()
    for body in bodies:
        if body.lstrip().startswith(b"<?xml"):
            etree.fromstring(body)
        else:
            lxml.html.document_fromstring(body)
    cpu = time.process_time() - start
    return {"pages": len(bodies), "cpu_ms_per_page": round(1000 * cpu / len(bodies), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1, help="alternate runs of each crawler")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        server = subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "serve_replay.py"), str(tmp / "o.toml")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            info = json.loads(server.stdout.readline())
            ours, theirs = [], []
            for _ in range(args.repeat):
                ours.append(run_newscrawl(info["proxy"], info["outlets"], tmp))
                theirs.append(run_scrapy(info["proxy"], info["outlets"], tmp))
        finally:
            if server.stdin:
                server.stdin.close()
            server.wait(10)
    best_ours = min(ours, key=lambda r: r["cpu_s"])
    best_theirs = min(theirs, key=lambda r: r["cpu_s"])
    report = {
        "replay_pages": info["pages"],
        "newscrawl": best_ours,
        "scrapy_trafilatura": best_theirs,
        "lxml_parse_floor": lxml_floor(),
        "cpu_per_article_ratio_newscrawl_to_scrapy": round(
            best_ours["cpu_ms_per_article"] / best_theirs["cpu_ms_per_article"], 3
        ),
        "target_ratio": 0.67,
        "runs": args.repeat,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
