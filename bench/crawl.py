"""End-to-end crawl benchmark on the replay web; prints JSON.

In one run, on the same replay web served by a separate process:
- newscrawl: ``newscrawl crawl --until-idle`` through the proxy, with its per-stage CPU breakdown;
- Scrapy + trafilatura (bench/scrapy_baseline.py), same seeds, same discovery rule, robots obeyed;
- the floor: parsing the same bodies with lxml alone, nothing else.
CPU is the crawler process's user+system time (children's rusage), so the server is not counted.

Two replay-web mixes (tests/replay.py): "rich" (every host with home and section pages, a feed
and a news sitemap: about 4.5 requests per article) and "lean" (one source per host: about 2.4).
A third, "lean-independent", lays out pages none of newscrawl's rules were written against (the
corpus ``bench/crossval.py`` reads from ``NEWSCRAWL_INDEPENDENT_CORPUS``) as "lean" does; it runs
by default when that variable names a folder.

Usage: python bench/crawl.py [--repeat N] [--mixes rich,lean[,lean-independent]]
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


INDEPENDENT_SUFFIX = "-independent"


def _independent_corpus() -> Path | None:
    folder = os.environ.get("NEWSCRAWL_INDEPENDENT_CORPUS")
    return Path(folder) if folder else None


def run_mix(mix: str, repeat: int, tmp: Path) -> dict[str, Any]:
    """Both crawlers on one replay-web mix, alternated ``repeat`` times; the best run of each."""
    layout, independent, _ = mix.partition(INDEPENDENT_SUFFIX)
    pages_from: list[str] = []
    if independent:
        folder = _independent_corpus()
        if folder is None:
            raise SystemExit(f"mix {mix!r} needs NEWSCRAWL_INDEPENDENT_CORPUS (bench/crossval.py)")
        pages_from = [str(folder)]
    server = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "bench" / "serve_replay.py"),
            str(tmp / f"{mix}.toml"),
            layout,
            *pages_from,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        ours, theirs = [], []
        for _ in range(repeat):
            ours.append(run_newscrawl(info["proxy"], info["outlets"], tmp))
            theirs.append(run_scrapy(info["proxy"], info["outlets"], tmp))
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)
    best_ours = min(ours, key=lambda r: r["cpu_s"])
    best_theirs = min(theirs, key=lambda r: r["cpu_s"])
    return {
        "replay_pages": info["pages"],
        "requests_per_article": round(best_ours["pages"] / max(best_ours["articles"], 1), 2),
        "newscrawl": best_ours,
        "scrapy_trafilatura": best_theirs,
        "cpu_per_article_ratio_newscrawl_to_scrapy": round(
            best_ours["cpu_ms_per_article"] / best_theirs["cpu_ms_per_article"], 3
        ),
        "ratios_per_run": [
            round(a["cpu_ms_per_article"] / b["cpu_ms_per_article"], 3)
            for a, b in zip(ours, theirs, strict=True)
        ],
        # Which side moved between runs: the two crawlers' CPU seconds, run by run.
        "cpu_s_per_run": {
            "newscrawl": [r["cpu_s"] for r in ours],
            "scrapy_trafilatura": [r["cpu_s"] for r in theirs],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1, help="alternate runs of each crawler")
    default_mixes = "rich,lean" + (",lean-independent" if _independent_corpus() else "")
    parser.add_argument("--mixes", default=default_mixes, help="replay-web mixes (tests/replay.py)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        mixes = {mix: run_mix(mix, args.repeat, Path(tmpdir)) for mix in args.mixes.split(",")}
    report = {
        "mixes": mixes,
        "lxml_parse_floor": lxml_floor(),
        "target_ratio": 0.6,
        "runs": args.repeat,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
