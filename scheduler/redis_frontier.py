"""The shared frontier: Redis, used by every worker and the scheduler at once.

Every change of a URL's or a host's state is one Lua script (``scheduler/lua/``), so politeness
holds across all workers: a host's next allowed fetch, in-flight count, delay and back-off live in
Redis and are read and written atomically. The scripts apply :class:`FrontierPolicy` decisions and
take their numbers from it; they decide nothing of their own. Leases that are not reported back within
``frontier.lease_timeout_s`` (a worker died) are queued again by the next lease call.
The scripts build per-URL, per-host and per-queue key names from the prefixes in
``newscrawl/redis_keys.py``; they run on a single Redis (not Redis Cluster).
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

from newscrawl.core.clock import ServerClock
from newscrawl.core.errors import NewscrawlError
from newscrawl.core.interfaces import HostView, UrlView
from newscrawl.core.records import AddResult, FrontierEntry, Lease, Outcome
from newscrawl.core.redis_keys import FrontierKeys
from newscrawl.core.urls import host_of
from scheduler.policy import (
    REVISITED_KINDS,
    AfterSuccess,
    FrontierPolicy,
    lost_error,
    robots_lease,
    source_tag,
)
from scheduler.politeness import Robots, RobotsCache

_LUA = resources.files("scheduler") / "lua"
# How many of the earliest retries and revisits next_wakeup looks at to find one still to make.
_WAKEUP_SCAN = 64


def _script(name: str, *, helpers: bool = True) -> str:
    body = (_LUA / f"{name}.lua").read_text("utf-8")
    return ((_LUA / "helpers.lua").read_text("utf-8") + body) if helpers else body


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _fingerprint(url: str) -> int:
    return int.from_bytes(hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest(), "big")


def _split(fp: int, bits: int) -> tuple[int, bytes]:
    """A fingerprint as (bucket: its top ``bits``, field: the rest)."""
    rest = fp & ((1 << (64 - bits)) - 1)
    return fp >> (64 - bits), rest.to_bytes((64 - bits + 7) // 8, "big")


def _lease_args(lease: Lease) -> list[str]:
    """(kind, member, token): how the renew and claim scripts name a lease."""
    if lease.kind == "robots":
        return ["robots", lease.host, _s(lease.leased_at)]
    return ["url", lease.url, _s(lease.leased_at)]


class RedisFrontier:
    def __init__(self, client: Any, prefix: str, policy: FrontierPolicy) -> None:
        self._redis = client
        self.keys = FrontierKeys(prefix)
        self.policy = policy
        self.robots_cache = RobotsCache()
        self._clock = ServerClock(client)
        script = self._redis.register_script
        self._add = script(_script("add"))
        self._lease = script(_script("lease"))
        self._complete = script(_script("complete"))
        self._fail = script(_script("fail"))
        self._reject = script(_script("reject"))
        self._set_robots = script(_script("set_robots"))
        self._pending = script(_script("pending", helpers=False))
        self._renew = script(_script("renew"))
        self._claim = script(_script("claim"))

    def now(self) -> float:
        """The Redis server's clock: the scheduler and workers on other machines read the same."""
        return self._clock()

    # --- adding -----------------------------------------------------------------------------

    def _seen_slot(self, fp: int) -> tuple[str, bytes]:
        """The seen filter's bucket key and field for a URL's 64-bit fingerprint, split.

        Buckets stay small enough for Redis's compact listpack encoding, so a URL costs about
        seventeen bytes (with its fetch time) for as long as the frontier lives
        (bench/frontier_memory.py measures it).
        """
        bucket, field = _split(fp, self.policy.limits.seen_bucket_bits)
        return self.keys.seen(bucket), field

    def _headline_slots(self, fp: int, now: float) -> tuple[str, str, bytes, int]:
        """The headline record's keys (this period's, the last one's), its field, and how long
        this period's key is to live: a record is looked for in both, written in this one. Fewer
        buckets than the seen filter's: they hold the last few days' stories, not every URL."""
        bucket, field = _split(fp, max(4, self.policy.limits.seen_bucket_bits - 4))
        span = self.policy.limits.refetch_max_age_s
        period = int(now // span)
        ttl = int((period + 2) * span - now) + 3600
        return self.keys.headlines(period, bucket), self.keys.headlines(period - 1, bucket), field, ttl

    def add(self, entries: list[FrontierEntry], now: float) -> AddResult:
        result = AddResult()
        # One round trip for the whole page's links; each script still runs atomically.
        pipe = self._redis.pipeline(transaction=False)
        admitted = list(self.policy.admissible(entries, result))
        for entry in admitted:
            host = host_of(entry.url)
            fp = _fingerprint(entry.url)
            seen_key, seen_field = self._seen_slot(fp)
            sort_key = self.policy.sort_key(entry, now)
            refetch = self.policy.refetch_after(entry, now)
            limits = self.policy.limits
            current, previous, field, ttl = self._headline_slots(fp, now)
            self._add(
                client=pipe,
                keys=[
                    self.keys.url(entry.url),
                    self.keys.host(host),
                    self.keys.queue(host),
                    self.keys.hosts,
                    self.keys.unfetched,
                    self.keys.all_hosts,
                    self.keys.states,
                    seen_key,
                    current,
                    previous,
                ],
                args=[
                    entry.url,
                    host,
                    entry.url.split(":", 1)[0],
                    entry.kind,
                    _s(entry.outlet),
                    entry.depth,
                    self.policy.priority(entry.kind),
                    sort_key,
                    now,
                    _s(entry.referrer),
                    self.policy.host_page_budget,
                    seen_field,
                    str(self.policy.budget_window(now)),
                    _s(refetch.modified_ts if refetch else None),
                    _s(refetch.gap_s if refetch else None),
                    limits.refetch_clock_slack_s,
                    source_tag(entry.referrer),
                    entry.headline if self.policy.watches_headline(entry) else "",
                    _s(entry.published_ts),
                    _s(limits.refetch_min_gap_s),
                    limits.refetch_gap_share,
                    limits.refetch_max_age_s,
                    field,
                    ttl,
                    _s(entry.previous_visit_ts),
                ],
            )
        for entry, outcome in zip(admitted, pipe.execute() if len(pipe) else [], strict=True):
            if outcome == 1:
                result.added += 1
                result.new_articles += entry.kind == "article"
            elif outcome == 2:
                result.updated += 1
            elif outcome == 0:
                result.known += 1
            else:
                result.reject("host_budget")
        return result

    # --- leasing ----------------------------------------------------------------------------

    def lease(self, now: float, limit: int, *, fetched_before: float | None = None) -> list[Lease]:
        policy = self.policy
        replies = self._lease(
            keys=[
                self.keys.hosts,
                self.keys.delayed,
                self.keys.leased,
                self.keys.ready_revisits,
                self.keys.robots_in_flight,
                self.keys.states,
                self.keys.robots_leased,
            ],
            args=[
                now,
                limit,
                policy.per_host_concurrency,
                self.keys.url_prefix,
                self.keys.host_prefix,
                self.keys.queue_prefix,
                self._delays,
                int(policy.respect_robots),
                policy.robots_ttl_s,
                _s(fetched_before),
                policy.lease_timeout_s,
            ],
        )
        leases: list[Lease] = []
        for reply in replies:
            if reply[0] == "robots":
                _, host, scheme, outlet = reply
                leases.append(robots_lease(host, scheme, now, outlet or None))
                continue
            _, url, host, kind, outlet, depth, attempts, etag, last_modified, body_hash = reply[:10]
            robots_at, due, interval, fetched_at, last_new, new_ewma, span_ewma, lost, live = reply[10:19]
            lease = Lease(
                url=url,
                host=host,
                kind=kind,
                outlet=outlet or None,
                depth=int(depth),
                attempts=int(attempts or 0),
                etag=etag or None,
                last_modified=last_modified or None,
                body_hash=body_hash or None,
                leased_at=now,
                due_at=float(due) if due else None,
                interval_s=float(interval) if interval else None,
                fetched_at=float(fetched_at) if fetched_at else None,
                last_new_at=float(last_new) if last_new else None,
                new_ewma=float(new_ewma) if new_ewma else None,
                span_ewma=float(span_ewma) if span_ewma else None,
                lost=int(lost or 0),
                live_until=float(live) if live else None,
            )
            robots = self._robots_for(host, robots_at)
            if robots is not None and not robots.allowed(url):
                self._reject(
                    keys=[
                        self.keys.url(url),
                        self.keys.host(host),
                        self.keys.queue(host),
                        self.keys.hosts,
                        self.keys.leased,
                        self.keys.unfetched,
                        self.keys.states,
                        self.keys.errors,
                        self.keys.counters,
                    ],
                    args=[url, host, now, "disallowed by robots.txt", policy.errors_kept],
                )
                continue
            if policy.lost_too_often(lease):
                self.fail(lease, lost_error(lease), now)
                continue
            leases.append(lease)
        return leases

    def _robots_for(self, host: str, fetched_at: str) -> Robots | None:
        """The host's parsed robots.txt, read from Redis only when it changed (``fetched_at``)."""
        if not self.policy.respect_robots:
            return None
        robots = self.robots_cache.get(host, fetched_at)
        if robots is None:
            text = self._redis.hget(self.keys.host(host), "robots_txt")
            robots = Robots(text or None, self.policy.robots_agent)
            self.robots_cache.put(host, robots, fetched_at)
        return robots

    # --- reporting back ---------------------------------------------------------------------

    def set_robots(self, host: str, text: str | None, now: float, *, reachable: bool = True) -> None:
        keys = [
            self.keys.host(host),
            self.keys.queue(host),
            self.keys.hosts,
            self.keys.robots_in_flight,
            self.keys.robots_leased,
        ]
        if not reachable:
            attempts, fetched_at, cached_text = self._redis.hmget(
                self.keys.host(host), "robots_attempts", "robots_fetched_at", "robots_txt"
            )
            decision = self.policy.after_robots_failure(int(attempts or 0), cached=bool(fetched_at))
            if decision.retry:
                # RFC 9309: an unreachable robots.txt means "disallow all" for now; try again later.
                self._set_robots(
                    keys=keys, args=[host, now, "retry", "", "", decision.attempts, decision.wait_s, ""]
                )
                return
            text = cached_text or None  # the last copy stands in
        robots = Robots(text, self.policy.robots_agent)
        crawl_delay = robots.crawl_delay_s()
        delay = self.policy.host_delay_s(crawl_delay)
        self._set_robots(keys=keys, args=[host, now, "ok", _s(text), _s(crawl_delay), 0, 0, delay])

    @property
    def _delays(self) -> str:
        """This process's delay settings for the scripts' ``host_delay``: each host's delay is
        worked out from them and its robots.txt's Crawl-delay at each use."""
        return f"{self.policy.default_delay_s!r},{self.policy.politeness.max_crawl_delay_s!r}"

    def _report_keys(self, lease: Lease) -> list[str]:
        """The keys a report on a URL lease touches (complete.lua, fail.lua)."""
        return [
            self.keys.url(lease.url),
            self.keys.host(lease.host),
            self.keys.queue(lease.host),
            self.keys.hosts,
            self.keys.leased,
            self.keys.unfetched,
            self.keys.delayed,
            self.keys.states,
            self.keys.counters,
        ]

    def complete(self, lease: Lease, outcome: Outcome, now: float) -> None:
        demand = 0.0
        if self.policy.budgeted and lease.kind in REVISITED_KINDS:
            demand = float(self._redis.hget(self.keys.counters, "source_demand") or 0.0)
        # Counted outside the script: a host's pages are fetched one at a time (by default), so
        # two live blogs of one host do not complete at once.
        live = self._live_on_host(lease, now) if self.policy.counts_live_blogs(lease, outcome) else 0
        decision = self.policy.after_success(
            lease, outcome, now, source_demand_per_s=demand, live_on_host=live
        )
        seen_key, seen_field = self._seen_slot(_fingerprint(lease.url))
        self._complete(
            keys=[*self._report_keys(lease), seen_key, self.keys.live(lease.host)],
            args=[
                lease.url,
                lease.host,
                now,
                decision.kind,
                decision.priority,
                outcome.status,
                _s(outcome.etag),
                _s(outcome.last_modified),
                _s(outcome.body_hash),
                int(decision.revisit),
                decision.due_at,
                self._delays,
                _s(lease.leased_at),
                *self._source_args(decision),
                seen_field,
                _s(decision.live_until),
                int(decision.live_capped),
            ],
        )

    def _live_on_host(self, lease: Lease, now: float) -> int:
        """The host's other live blogs that are followed now: those of its set still queued or
        in flight (a URL retired by any path, a failure or a removed outlet, drops out here)."""
        key = self.keys.live(lease.host)
        members = [m for m in self._redis.zrangebyscore(key, f"({now}", "+inf") if m != lease.url]
        pipe = self._redis.pipeline(transaction=False)
        for url in members:
            pipe.hget(self.keys.url(url), "state")
        states = pipe.execute() if members else []
        gone = [url for url, state in zip(members, states, strict=True) if state not in ("queued", "leased")]
        if gone:
            self._redis.zrem(key, *gone)
        return len(members) - len(gone)

    @staticmethod
    def _source_args(decision: AfterSuccess) -> list[str]:
        source = decision.source
        if source is None:
            return ["", "", "", ""]
        return [_s(source.interval_s), _s(source.last_new_at), _s(source.new_ewma), _s(source.span_ewma)]

    def fail(self, lease: Lease, error: NewscrawlError, now: float) -> None:
        if lease.kind == "robots":
            self.set_robots(lease.host, None, now, reachable=not self.policy.robots_unreachable(error))
            return
        fetched = self._redis.hget(self.keys.url(lease.url), "fetched_at")
        decision = self.policy.after_failure(lease, error, now, fetched_before=bool(fetched))
        seen_key, seen_field = self._seen_slot(_fingerprint(lease.url))
        self._fail(
            keys=[*self._report_keys(lease), self.keys.errors, seen_key],
            args=[
                lease.url,
                lease.host,
                now,
                decision.mode,
                decision.due_at,
                decision.attempts,
                _s(decision.status),
                error.kind,
                int(decision.throttled),
                ",".join(repr(w) for w in decision.backoff_schedule_s),
                self._delays,
                error.message,
                _s(lease.leased_at),
                self.policy.errors_kept,
                seen_field,
            ],
        )

    # --- inspection -------------------------------------------------------------------------

    def pending(self, now: float, *, fetched_before: float | None = None) -> int:
        return int(
            self._pending(
                keys=[
                    self.keys.unfetched,
                    self.keys.leased,
                    self.keys.delayed,
                    self.keys.ready_revisits,
                    self.keys.robots_in_flight,
                ],
                args=[now, self.keys.url_prefix, _s(fetched_before)],
            )
        )

    def next_wakeup(self, now: float, *, fetched_before: float | None = None) -> float | None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrange(self.keys.hosts, 0, 0, withscores=True)
        pipe.zrange(self.keys.delayed, 0, _WAKEUP_SCAN - 1, withscores=True)
        hosts, delayed = pipe.execute()
        times = [float(score) for _, score in hosts]
        if fetched_before is not None and delayed:
            # A one-pass run does not wait for revisits it made already (lease skips them too).
            pipe = self._redis.pipeline(transaction=False)
            for url, _ in delayed:
                pipe.hget(self.keys.url(url if isinstance(url, str) else url.decode()), "fetched_at")
            fetched = pipe.execute()
            delayed = [
                (u, s)
                for (u, s), f in zip(delayed, fetched, strict=True)
                if not f or float(f) < fetched_before
            ]
        times += [float(score) for _, score in delayed[:1]]
        return min(times) if times else None

    def claim(self, leases: list[Lease], runner: str, now: float | None = None) -> list[bool]:
        if not leases:
            return []
        args: list[Any] = [self.keys.url_prefix, self.keys.host_prefix, runner, _s(now)]
        for lease in leases:
            args += _lease_args(lease)
        replies = self._claim(keys=[self.keys.leased, self.keys.robots_leased], args=args)
        return [bool(int(r)) for r in replies]

    def renew(self, leases: list[Lease], now: float) -> int:
        if not leases:
            return 0
        args: list[Any] = [now, self.keys.url_prefix, self.keys.host_prefix]
        for lease in leases:
            args += _lease_args(lease)
        return int(self._renew(keys=[self.keys.leased, self.keys.robots_leased], args=args))

    def in_flight(self) -> int:
        """Leases handed out and not reported back yet."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zcard(self.keys.leased)
        pipe.zcard(self.keys.robots_leased)
        return sum(int(n) for n in pipe.execute())

    def url_view(self, url: str) -> UrlView | None:
        state, due, attempts = self._redis.hmget(self.keys.url(url), "state", "due_at", "attempts")
        if state not in ("queued", "leased"):
            return None
        return UrlView(state, float(due), int(attempts or 0))

    def host_view(self, host: str) -> HostView | None:
        fields = self._redis.hmget(
            self.keys.host(host), "next_fetch_at", "in_flight", "backoff_level", "robots_attempts", "scheme"
        )
        if fields[4] is None:
            return None
        nf, in_flight, level, robots = (f or "0" for f in fields[:4])
        return HostView(float(nf), int(in_flight), int(level), int(robots))

    def errors(self, final_only: bool = True) -> list[dict[str, Any]]:
        records = [json.loads(x) for x in self._redis.lrange(self.keys.errors, 0, -1)]
        return [r for r in records if r["final"] or not final_only]

    def stats(self) -> dict[str, object]:
        states = {k: int(v) for k, v in self._redis.hgetall(self.keys.states).items() if int(v)}
        errors: dict[str, int] = {}
        counters: dict[str, int] = {}
        demand = 0.0
        for key, value in self._redis.hgetall(self.keys.counters).items():
            if key == "source_demand":
                demand = float(value)
            elif key.startswith("failed:"):
                errors[key.removeprefix("failed:")] = int(value)
            else:
                counters[key] = int(value)
        now = self.now()
        return {
            "urls": states,
            "source_visits_per_min": round(demand * 60, 2),
            "hosts": int(self._redis.scard(self.keys.all_hosts)),
            "hosts_queued": int(self._redis.zcard(self.keys.hosts)),
            "hosts_due": int(self._redis.zcount(self.keys.hosts, "-inf", now)),
            "leased": self.in_flight(),
            "delayed": int(self._redis.zcard(self.keys.delayed)),
            "errors": errors,
            **counters,
        }

    def close(self) -> None:
        """The client belongs to the process's connection factory: nothing to close here."""
