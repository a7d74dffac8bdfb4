"""How low p95 time to index can go on the live web at a given number of source requests; JSON.

The freshness benchmark (bench/freshness.py) compares the adaptive schedule with a fixed one that
spends the same source requests. This asks what *any* schedule could reach with those requests,
on the live web's own publishing (tests/live_web.py, the same seeds), without running a crawl:

- ``fixed``: every source of every outlet every I seconds, an outlet's sources in phase (as the
  fixed schedule seeds them), I chosen to spend the requests; checked against the measured run;
- ``oracle``: a schedule that knows each outlet's class and never wastes a look. Each look reads
  one source (they list the same new stories), quiet outlets are looked at every 10 minutes (the
  issue's bound for sources silent an hour), bursty and steady outlets each at the constant
  interval that minimises the overall p95 for the requests left (a grid over both). A schedule
  that learns rates from what it sees can at best converge to this; only one that predicts the
  moment of each publication could do better;
- ``following``: the same, but bursty outlets are looked at again ``follow_s`` after a look that
  found a new story, else after their silent interval (a schedule that follows a burst once it
  sees one: what a causal policy can do beyond constant intervals); a grid over both;
- ``model``: the adaptive schedule itself (the SQLite frontier with the default settings) on the
  virtual clock (tests/virtual_crawl.py), and the fixed one at its requests, as in the tests.

Each story's delay is the wait from its release to the next look at its outlet plus
``--overhead`` seconds (article fetch, extraction, indexing; about 1 s in the real runs). Looks
start at a random phase per outlet; figures are medians over ``--phases`` draws.

Usage: python bench/freshness_bound.py [--requests 1095] [--seeds 7,8,9] [--phases 15]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newscrawl.app.factory import build_frontier  # noqa: E402
from tests.conftest import corpora_path, make_settings  # noqa: E402
from tests.live_web import LiveOutlet, LiveSchedule, corpus_texts  # noqa: E402
from tests.virtual_crawl import VirtualCrawl, outlets_of, run  # noqa: E402

GRACE_S = 300.0
QUIET_LOOK_S = 600.0
T0 = 1_800_000_000.0


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def delays(
    schedule: LiveSchedule,
    interval_of: Callable[[LiveOutlet], float],
    rng: random.Random,
    overhead_s: float,
    classes: tuple[str, ...] = ("bursty", "steady", "quiet"),
) -> list[float]:
    """Release-to-index delay of every story released during the run, looks every interval_of(o)."""
    out = []
    for outlet in (o for o in schedule.outlets if o.cls in classes):
        interval = interval_of(outlet)
        phase = rng.uniform(0.0, interval)
        for article in schedule.released_during():
            if article.outlet != outlet.name:
                continue
            # the first look at or after the release, on the grid phase + n * interval
            n = max(0, -int(-(article.released_at - phase) // interval))
            out.append(phase + n * interval - article.released_at + overhead_s)
    return out


def median_p95(
    schedule: LiveSchedule, interval_of: Callable[[LiveOutlet], float], phases: int, overhead_s: float
) -> float:
    return statistics.median(
        p95(delays(schedule, interval_of, random.Random(seed), overhead_s)) for seed in range(phases)
    )


def following_delays(
    schedule: LiveSchedule,
    outlet: LiveOutlet,
    silent_s: float,
    follow_s: float,
    phase: float,
    overhead_s: float,
) -> tuple[list[float], int]:
    """Delays of ``outlet``'s stories and the looks spent when a find brings the next look closer."""
    run_s = schedule.duration_s + GRACE_S
    releases = sorted(a.released_at for a in outlet.articles)
    looks: list[float] = []
    t, before = phase, float("-inf")
    while t < run_s:
        looks.append(t)
        found = any(before < r <= t for r in releases)
        before, t = t, t + (follow_s if found else silent_s)
    out = []
    for released in (a.released_at for a in schedule.released_during() if a.outlet == outlet.name):
        seen_at = next((x for x in looks if x >= released), run_s)
        out.append(seen_at - released + overhead_s)
    return out, len(looks)


def following_figure(schedule: LiveSchedule, requests: int, phases: int, overhead_s: float) -> dict[str, Any]:
    run_s = schedule.duration_s + GRACE_S
    steady = [o for o in schedule.outlets if o.cls == "steady"]
    quiet_looks = sum(o.cls == "quiet" for o in schedule.outlets) * run_s / QUIET_LOOK_S
    best: dict[str, Any] | None = None
    for silent_s in range(20, 241, 10):
        for follow_s in (5, 10, 20, 30):
            figures = []
            for seed in range(phases):
                rng = random.Random(seed)
                all_delays: list[float] = []
                looks = quiet_looks
                for outlet in (o for o in schedule.outlets if o.cls == "bursty"):
                    d, n = following_delays(
                        schedule, outlet, silent_s, follow_s, rng.uniform(0, silent_s), overhead_s
                    )
                    all_delays += d
                    looks += n
                if looks >= requests:
                    break
                steady_s = len(steady) * run_s / (requests - looks)
                all_delays += delays(
                    schedule,
                    lambda o, i=steady_s: i if o.cls == "steady" else QUIET_LOOK_S,
                    rng,
                    overhead_s,
                    classes=("steady", "quiet"),
                )
                figures.append((p95(all_delays), steady_s))
            if len(figures) < phases:
                continue
            figure = statistics.median(f for f, _ in figures)
            if best is None or figure < best["p95"]:
                best = {
                    "p95": round(figure, 1),
                    "bursty_silent_s": silent_s,
                    "bursty_follow_s": follow_s,
                    "steady_s": round(statistics.median(i for _, i in figures), 1),
                }
    assert best is not None
    return best


def fixed_figure(schedule: LiveSchedule, requests: int, phases: int, overhead_s: float) -> dict[str, float]:
    run_s = schedule.duration_s + GRACE_S
    sources = sum(len(o.sources()) for o in schedule.outlets)
    interval = sources * run_s / requests
    figure = median_p95(schedule, lambda o: interval, phases, overhead_s)
    return {"interval_s": round(interval, 1), "p95": round(figure, 1)}


def oracle_figure(schedule: LiveSchedule, requests: int, phases: int, overhead_s: float) -> dict[str, Any]:
    run_s = schedule.duration_s + GRACE_S
    count = {c: sum(o.cls == c for o in schedule.outlets) for c in ("bursty", "steady", "quiet")}
    left = requests - count["quiet"] * run_s / QUIET_LOOK_S
    best: dict[str, Any] | None = None
    for bursty_s in range(15, 181, 3):
        # the steady interval that spends what is left after the bursty outlets' looks
        looks_left = left - count["bursty"] * run_s / bursty_s
        if looks_left <= 0:
            continue
        steady_s = count["steady"] * run_s / looks_left
        intervals = {"bursty": float(bursty_s), "steady": steady_s, "quiet": QUIET_LOOK_S}
        figure = median_p95(schedule, lambda o, i=intervals: i[o.cls], phases, overhead_s)
        if best is None or figure < best["p95"]:
            best = {"p95": round(figure, 1), "bursty_s": bursty_s, "steady_s": round(steady_s, 1)}
    assert best is not None
    return best


def looks_for(schedule: LiveSchedule, p95_goal: float, phases: int, overhead_s: float) -> int:
    """The fewest looks with which the oracle's p95 (one interval for all active outlets) meets the goal."""
    run_s = schedule.duration_s + GRACE_S
    quiet = sum(o.cls == "quiet" for o in schedule.outlets) * run_s / QUIET_LOOK_S
    active = sum(o.cls != "quiet" for o in schedule.outlets)
    interval = p95_goal
    while interval > 1.0:
        figure = median_p95(
            schedule, lambda o, i=interval: QUIET_LOOK_S if o.cls == "quiet" else i, phases, overhead_s
        )
        if figure <= p95_goal:
            return round(quiet + active * run_s / interval)
        interval -= 0.5
    return -1


def model_figure(schedule: LiveSchedule) -> dict[str, Any]:
    """The adaptive schedule and the fixed one at its requests, on the virtual clock."""
    run_s = schedule.duration_s + GRACE_S

    def crawl(**frontier: Any) -> VirtualCrawl:
        settings = make_settings(
            Path(tempfile.mkdtemp(prefix="bound-")),
            politeness={"respect_robots": False, "min_delay_ms": 1000},
            frontier=frontier,
        )
        return run(build_frontier(settings, outlets_of(schedule)), schedule, t0=T0, until_s=run_s)

    adaptive = crawl()
    requests = sum(adaptive.source_requests.values())
    sources = sum(len(o.sources()) for o in schedule.outlets)
    fixed = crawl(revisit="fixed", revisit_interval_s=sources * run_s / requests)
    a, f = VirtualCrawl.p(adaptive.delays(schedule), 95), VirtualCrawl.p(fixed.delays(schedule), 95)
    return {
        "requests": requests,
        "adaptive_p95": round(a, 1),
        "fixed_p95": round(f, 1),
        "ratio": round(a / f, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1095, help="source requests (the measured run's)")
    parser.add_argument("--seeds", default="7,8,9", help="live-web seeds (7 is the benchmark's)")
    parser.add_argument("--phases", type=int, default=15)
    parser.add_argument("--overhead", type=float, default=1.0, help="seconds from look to index")
    args = parser.parse_args()
    texts = corpus_texts(corpora_path())
    results = []
    for seed in (int(s) for s in args.seeds.split(",")):
        schedule = LiveSchedule.build(texts, seed=seed)
        fixed = fixed_figure(schedule, args.requests, args.phases, args.overhead)
        oracle = oracle_figure(schedule, args.requests, args.phases, args.overhead)
        following = following_figure(schedule, args.requests, args.phases, args.overhead)
        results.append(
            {
                "seed": seed,
                "stories": len(schedule.released_during()),
                "fixed": fixed,
                "oracle": oracle,
                "oracle_over_fixed": round(oracle["p95"] / fixed["p95"], 3),
                "following": following,
                "following_over_fixed": round(following["p95"] / fixed["p95"], 3),
                "looks_for_a_quarter_of_fixed": looks_for(
                    schedule, fixed["p95"] / 4, args.phases, args.overhead
                ),
                "model": model_figure(schedule),
            }
        )
    print(json.dumps({"requests": args.requests, "target_ratio": 0.25, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
