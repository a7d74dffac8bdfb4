"""The shared frontier: Redis, used by every worker and the scheduler at once.

Every change of a URL's or a host's state is one Lua script, so politeness holds across all
workers: a host's next allowed fetch, in-flight count, Crawl-delay and back-off live in Redis and
are read and written atomically. Leases that are not reported back within
``frontier.lease_timeout_s`` (a worker died) are queued again by the next lease call.
The scripts build per-URL, per-host and per-queue key names from the prefixes in
``newscrawl/redis_keys.py``; they run on a single Redis (not Redis Cluster).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import redis

from newscrawl.errors import HTTPStatusError, NewscrawlError, StoreError
from newscrawl.redis_keys import FrontierKeys
from newscrawl.settings import Settings
from scheduler.frontier import PRIORITY, REVISITED_KINDS, AddResult, FrontierEntry, Lease, Outcome, refusal
from scheduler.politeness import Robots, backoff_s, robots_agent
from scheduler.urls import host_of

_HELPERS = """
local function set_state(ukey, states, new)
  local old = redis.call('HGET', ukey, 'state')
  if old then redis.call('HINCRBY', states, old, -1) end
  redis.call('HSET', ukey, 'state', new)
  redis.call('HINCRBY', states, new, 1)
end
local function host_delay(hk, min_delay, max_crawl)
  local d = min_delay
  local cd = redis.call('HGET', hk, 'crawl_delay_s')
  if cd and cd ~= '' then
    local c = math.min(tonumber(cd), max_crawl)
    if c > d then d = c end
  end
  return d
end
local function lease_held(leased, member, leased_at)
  local s = redis.call('ZSCORE', leased, member)
  if not s then return false end
  return leased_at == '' or math.abs(tonumber(s) - tonumber(leased_at)) < 1e-3
end
local function record_error(errors, counters, keep, url, kind, message, now, final)
  redis.call('RPUSH', errors,
    cjson.encode({url = url, kind = kind, message = message, at = now, final = final}))
  redis.call('LTRIM', errors, -tonumber(keep), -1)
  if final == 1 then redis.call('HINCRBY', counters, 'failed:' .. kind, 1) end
end
local function release(hk, qk, hosts, host, now, wait)
  local inflight = tonumber(redis.call('HGET', hk, 'in_flight') or '0')
  if inflight > 0 then redis.call('HINCRBY', hk, 'in_flight', -1) end
  local nf = tonumber(redis.call('HGET', hk, 'next_fetch_at') or '0')
  if now + wait > nf then
    nf = now + wait
    redis.call('HSET', hk, 'next_fetch_at', nf)
  end
  if redis.call('ZCARD', qk) > 0 then
    redis.call('ZADD', hosts, nf, host)
  else
    redis.call('ZREM', hosts, host)
  end
end
"""

_ADD = """
if redis.call('HEXISTS', KEYS[8], ARGV[12]) == 1 then return 0 end
local enq = tonumber(redis.call('HGET', KEYS[2], 'enqueued') or '0')
if enq >= tonumber(ARGV[11]) then return -1 end
redis.call('HSET', KEYS[8], ARGV[12], 1)
redis.call('HSETNX', KEYS[2], 'scheme', ARGV[3])
redis.call('HINCRBY', KEYS[2], 'enqueued', 1)
redis.call('HSET', KEYS[1], 'host', ARGV[2], 'kind', ARGV[4], 'outlet', ARGV[5], 'depth', ARGV[6],
  'priority', ARGV[7], 'sort_key', ARGV[8], 'due_at', ARGV[9], 'attempts', 0, 'discovered_at', ARGV[9],
  'referrer', ARGV[10])
set_state(KEYS[1], KEYS[7], 'queued')
redis.call('ZADD', KEYS[3], tonumber(ARGV[7]) * 1e10 - tonumber(ARGV[8]), ARGV[1])
redis.call('SADD', KEYS[5], ARGV[1])
redis.call('SADD', KEYS[6], ARGV[2])
redis.call('ZADD', KEYS[4], 'NX', redis.call('HGET', KEYS[2], 'next_fetch_at') or '0', ARGV[2])
return 1
"""

_LEASE = """
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[3])
local before = nil
if ARGV[11] ~= '' then before = tonumber(ARGV[11]) end
local up, hp, qp = ARGV[4], ARGV[5], ARGV[6]
local function enqueue(url, uk)
  local host = redis.call('HGET', uk, 'host')
  local rank = tonumber(redis.call('HGET', uk, 'priority')) * 1e10
    - tonumber(redis.call('HGET', uk, 'sort_key'))
  redis.call('ZADD', qp .. host, rank, url)
  redis.call('ZADD', KEYS[1], 'NX', redis.call('HGET', hp .. host, 'next_fetch_at') or '0', host)
end
-- leases of dead workers come back
for _, url in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[12]))) do
  local uk = up .. url
  redis.call('ZREM', KEYS[3], url)
  local hk = hp .. redis.call('HGET', uk, 'host')
  if tonumber(redis.call('HGET', hk, 'in_flight') or '0') > 0 then
    redis.call('HINCRBY', hk, 'in_flight', -1)
  end
  set_state(uk, KEYS[6], 'queued')
  enqueue(url, uk)
  redis.call('ZADD', KEYS[1], redis.call('HGET', hk, 'next_fetch_at') or '0', redis.call('HGET', uk, 'host'))
end
-- robots.txt leases of dead workers: the host may be leased again
for _, host in ipairs(redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now - tonumber(ARGV[12]))) do
  redis.call('ZREM', KEYS[7], host)
  local hk = hp .. host
  if tonumber(redis.call('HGET', hk, 'in_flight') or '0') > 0 then
    redis.call('HINCRBY', hk, 'in_flight', -1)
  end
  redis.call('ZADD', KEYS[1], redis.call('HGET', hk, 'next_fetch_at') or '0', host)
end
-- due retries and revisits join their host's queue
for _, url in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)) do
  local uk = up .. url
  local f = redis.call('HGET', uk, 'fetched_at')
  if not (before and f and f ~= '' and tonumber(f) >= before) then
    redis.call('ZREM', KEYS[2], url)
    if f and f ~= '' then redis.call('SADD', KEYS[4], url) end
    enqueue(url, uk)
  end
end
local out = {}
for _, host in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))) do
  local hk, qk = hp .. host, qp .. host
  local inflight = tonumber(redis.call('HGET', hk, 'in_flight') or '0')
  if inflight >= cap then
    redis.call('ZADD', KEYS[1], now + 3600, host)
  else
    local rf = redis.call('HGET', hk, 'robots_fetched_at')
    if ARGV[9] == '1' and ((not rf) or now - tonumber(rf) > tonumber(ARGV[10])) then
      if inflight == 0 then
        redis.call('HINCRBY', hk, 'in_flight', 1)
        redis.call('ZADD', KEYS[1], now + 3600, host)
        if not rf then redis.call('SADD', KEYS[5], host) end
        redis.call('ZADD', KEYS[7], now, host)
        table.insert(out, {'robots', host, redis.call('HGET', hk, 'scheme') or 'http'})
      end
    else
      local first = redis.call('ZRANGE', qk, 0, 0)
      if #first == 0 then
        redis.call('ZREM', KEYS[1], host)
      else
        local url = first[1]
        local uk = up .. url
        redis.call('ZREM', qk, url)
        redis.call('SREM', KEYS[4], url)
        set_state(uk, KEYS[6], 'leased')
        redis.call('ZADD', KEYS[3], now, url)
        redis.call('HINCRBY', hk, 'in_flight', 1)
        local nf = tonumber(redis.call('HGET', hk, 'next_fetch_at') or '0')
        local d = host_delay(hk, tonumber(ARGV[7]), tonumber(ARGV[8]))
        if now + d > nf then
          nf = now + d
          redis.call('HSET', hk, 'next_fetch_at', nf)
        end
        if inflight + 1 >= cap then redis.call('ZADD', KEYS[1], now + 3600, host)
        else redis.call('ZADD', KEYS[1], nf, host) end
        local f = redis.call('HMGET', uk, 'kind', 'outlet', 'depth', 'attempts', 'etag', 'last_modified',
          'body_hash', 'due_at')
        table.insert(out, {'url', url, host, f[1], f[2], f[3], f[4], f[5], f[6], f[7], rf or '', f[8] or ''})
      end
    end
  end
end
return out
"""

_COMPLETE = """
local now = tonumber(ARGV[3])
if not lease_held(KEYS[5], ARGV[1], ARGV[14]) then return -1 end
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
redis.call('HSET', KEYS[1], 'kind', ARGV[4], 'priority', ARGV[5], 'status', ARGV[6], 'fetched_at', ARGV[3],
  'attempts', 0, 'error_kind', '', 'error', '')
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'etag', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'last_modified', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'body_hash', ARGV[9]) end
if ARGV[10] == '1' then
  set_state(KEYS[1], KEYS[8], 'queued')
  redis.call('HSET', KEYS[1], 'due_at', ARGV[11])
  redis.call('ZADD', KEYS[7], tonumber(ARGV[11]), ARGV[1])
else
  set_state(KEYS[1], KEYS[8], 'done')
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[2], 'backoff_level', 0)
redis.call('HINCRBY', KEYS[9], 'fetched', 1)
release(KEYS[2], KEYS[3], KEYS[4], ARGV[2], now, host_delay(KEYS[2], tonumber(ARGV[12]), tonumber(ARGV[13])))
return 1
"""

_FAIL = """
local now = tonumber(ARGV[3])
if not lease_held(KEYS[5], ARGV[1], ARGV[16]) then return -1 end
local wait = host_delay(KEYS[2], tonumber(ARGV[13]), tonumber(ARGV[14]))
if ARGV[9] == '1' then
  local level = redis.call('HINCRBY', KEYS[2], 'backoff_level', 1)
  local ra = tonumber(ARGV[10]) or 0
  local w = math.max(tonumber(ARGV[11]) * 2 ^ (level - 1), ra)
  w = math.min(w, math.max(tonumber(ARGV[12]), ra))
  if w > wait then wait = w end
  redis.call('HINCRBY', KEYS[9], 'backoffs', 1)
end
redis.call('ZREM', KEYS[5], ARGV[1])
local mode = ARGV[4]
local final = 0
if mode == 'retry' then
  local due = now + math.max(wait, tonumber(ARGV[5]))
  set_state(KEYS[1], KEYS[8], 'queued')
  redis.call('HSET', KEYS[1], 'due_at', due)
  redis.call('ZADD', KEYS[7], due, ARGV[1])
elseif mode == 'revisit' then
  set_state(KEYS[1], KEYS[8], 'queued')
  redis.call('HSET', KEYS[1], 'due_at', ARGV[5])
  redis.call('ZADD', KEYS[7], tonumber(ARGV[5]), ARGV[1])
else
  final = 1
  set_state(KEYS[1], KEYS[8], 'failed')
  redis.call('SREM', KEYS[6], ARGV[1])
end
if final == 1 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'attempts', ARGV[6], 'status', ARGV[7], 'error_kind', ARGV[8],
    'error', ARGV[15])
end
record_error(KEYS[10], KEYS[9], ARGV[17], ARGV[1], ARGV[8], ARGV[15], now, final)
release(KEYS[2], KEYS[3], KEYS[4], ARGV[2], now, wait)
return final
"""

_REJECT = """
local now = tonumber(ARGV[3])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
set_state(KEYS[1], KEYS[7], 'failed')
redis.call('DEL', KEYS[1])
record_error(KEYS[8], KEYS[9], ARGV[5], ARGV[1], 'robots', ARGV[4], now, 1)
release(KEYS[2], KEYS[3], KEYS[4], ARGV[2], now, 0)
return 1
"""

_SET_ROBOTS = """
local now = tonumber(ARGV[2])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
if ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[1], 'robots_attempts', ARGV[6])
  if tonumber(redis.call('HGET', KEYS[1], 'in_flight') or '0') > 0 then
    redis.call('HINCRBY', KEYS[1], 'in_flight', -1)
  end
  local nf = now + tonumber(ARGV[7])
  redis.call('HSET', KEYS[1], 'next_fetch_at', nf)
  redis.call('ZADD', KEYS[3], nf, ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], 'robots_txt', ARGV[4], 'robots_fetched_at', now, 'robots_attempts', 0,
  'crawl_delay_s', ARGV[5])
release(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now, host_delay(KEYS[1], tonumber(ARGV[8]), tonumber(ARGV[9])))
return 1
"""

_PENDING = """
local now = tonumber(ARGV[1])
local before = nil
if ARGV[3] ~= '' then before = tonumber(ARGV[3]) end
local function revisit_pending(url)
  local f = redis.call('HGET', ARGV[2] .. url, 'fetched_at')
  return f and f ~= '' and ((not before) or tonumber(f) < before)
end
local n = redis.call('SCARD', KEYS[1]) + redis.call('SCARD', KEYS[5])
for _, url in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('SISMEMBER', KEYS[1], url) == 0 then n = n + 1 end
end
for _, url in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  if revisit_pending(url) then n = n + 1 end
end
for _, url in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  if revisit_pending(url) then n = n + 1 end
end
return n
"""

_ROBOTS_MAX_ATTEMPTS = 3


def _s(value: Any) -> str:
    return "" if value is None else str(value)


class RedisFrontier:
    def __init__(self, settings: Settings, revisit_intervals: dict[str, float] | None = None) -> None:
        try:
            # redis-py types its sync client's replies as sync-or-async unions: Any is honest here.
            self._r: Any = redis.Redis.from_url(settings.redis_url, decode_responses=True)
            self._r.ping()
        except redis.RedisError as exc:
            raise StoreError(f"cannot reach Redis at {settings.redis_url}: {exc}") from exc
        self.k = FrontierKeys(settings.redis_prefix)
        self._settings = settings
        self._revisit = revisit_intervals or {}
        self._agent = robots_agent(settings.fetch.user_agent)
        self._robots: dict[str, tuple[str, Robots]] = {}
        script = self._r.register_script
        self._add = script(_HELPERS + _ADD)
        self._lease = script(_HELPERS + _LEASE)
        self._complete = script(_HELPERS + _COMPLETE)
        self._fail = script(_HELPERS + _FAIL)
        self._reject = script(_HELPERS + _REJECT)
        self._set_robots = script(_HELPERS + _SET_ROBOTS)
        self._pending = script(_PENDING)

    # --- adding -----------------------------------------------------------------------------

    def _seen_slot(self, url: str) -> tuple[str, bytes]:
        """The seen filter's bucket key and field for ``url``: a 64-bit fingerprint, split.

        Buckets stay small enough for Redis's compact listpack encoding, so a URL costs about
        ten bytes for as long as the frontier lives (bench/frontier_memory.py measures it).
        """
        fp = int.from_bytes(hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest(), "big")
        bits = self._settings.frontier.seen_bucket_bits
        bucket = fp >> (64 - bits)
        rest = fp & ((1 << (64 - bits)) - 1)
        return self.k.seen(bucket), rest.to_bytes((64 - bits + 7) // 8, "big")

    def add(self, entries: list[FrontierEntry], now: float) -> AddResult:
        result = AddResult()
        limits = self._settings.frontier
        # One round trip for the whole page's links; each script still runs atomically.
        pipe = self._r.pipeline(transaction=False)
        for entry in entries:
            reason = refusal(entry, limits)
            if reason is not None:
                result.reject(reason)
                continue
            host = host_of(entry.url)
            seen_key, seen_field = self._seen_slot(entry.url)
            sort_key = entry.published_ts if entry.published_ts is not None else now
            self._add(
                client=pipe,
                keys=[
                    self.k.url(entry.url),
                    self.k.host(host),
                    self.k.queue(host),
                    self.k.hosts,
                    self.k.unfetched,
                    self.k.all_hosts,
                    self.k.states,
                    seen_key,
                ],
                args=[
                    entry.url,
                    host,
                    entry.url.split(":", 1)[0],
                    entry.kind,
                    _s(entry.outlet),
                    entry.depth,
                    PRIORITY[entry.kind],
                    sort_key,
                    now,
                    _s(entry.referrer),
                    limits.host_page_budget,
                    seen_field,
                ],
            )
        for outcome in pipe.execute() if len(pipe) else []:
            if outcome == 1:
                result.added += 1
            elif outcome == 0:
                result.known += 1
            else:
                result.reject("host_budget")
        return result

    # --- leasing ----------------------------------------------------------------------------

    def lease(self, now: float, limit: int, *, fetched_before: float | None = None) -> list[Lease]:
        p = self._settings.politeness
        replies = self._lease(
            keys=[
                self.k.hosts,
                self.k.delayed,
                self.k.leased,
                self.k.ready_revisits,
                self.k.robots_in_flight,
                self.k.states,
                self.k.robots_leased,
            ],
            args=[
                now,
                limit,
                p.per_host_concurrency,
                self.k.url_prefix,
                self.k.host_prefix,
                self.k.queue_prefix,
                p.min_delay_ms / 1000.0,
                p.max_crawl_delay_s,
                int(p.respect_robots),
                p.robots_ttl_s,
                _s(fetched_before),
                self._settings.frontier.lease_timeout_s,
            ],
        )
        leases: list[Lease] = []
        for reply in replies:
            if reply[0] == "robots":
                _, host, scheme = reply
                leases.append(
                    Lease(
                        url=f"{scheme}://{host}/robots.txt",
                        host=host,
                        kind="robots",
                        outlet=None,
                        depth=0,
                        leased_at=now,
                    )
                )
                continue
            _, url, host, kind, outlet, depth, attempts, etag, last_modified, body_hash, robots_at, due = (
                reply
            )
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
            )
            robots = self._robots_for(host, robots_at)
            if robots is not None and not robots.allowed(url):
                self._reject(
                    keys=[
                        self.k.url(url),
                        self.k.host(host),
                        self.k.queue(host),
                        self.k.hosts,
                        self.k.leased,
                        self.k.unfetched,
                        self.k.states,
                        self.k.errors,
                        self.k.counters,
                    ],
                    args=[url, host, now, "disallowed by robots.txt", self._settings.frontier.errors_kept],
                )
                continue
            leases.append(lease)
        return leases

    def _robots_for(self, host: str, fetched_at: str) -> Robots | None:
        """The host's parsed robots.txt, read from Redis only when it changed (``fetched_at``)."""
        if not self._settings.politeness.respect_robots:
            return None
        cached = self._robots.get(host)
        if cached is None or cached[0] != fetched_at:
            text = self._r.hget(self.k.host(host), "robots_txt")
            cached = (fetched_at, Robots(text or None, self._agent))
            self._robots[host] = cached
        return cached[1]

    # --- reporting back ---------------------------------------------------------------------

    def set_robots(self, host: str, text: str | None, now: float, *, reachable: bool = True) -> None:
        p = self._settings.politeness
        keys = [
            self.k.host(host),
            self.k.queue(host),
            self.k.hosts,
            self.k.robots_in_flight,
            self.k.robots_leased,
        ]
        if not reachable:
            attempts = int(self._r.hget(self.k.host(host), "robots_attempts") or 0) + 1
            if attempts < _ROBOTS_MAX_ATTEMPTS:
                # RFC 9309: an unreachable robots.txt means "disallow all" for now; try again later.
                self._set_robots(
                    keys=keys,
                    args=[
                        host,
                        now,
                        "retry",
                        "",
                        "",
                        attempts,
                        backoff_s(p, attempts, None),
                        p.min_delay_ms / 1000.0,
                        p.max_crawl_delay_s,
                    ],
                )
                return
            text = None
        robots = Robots(text, self._agent)
        delay = robots.crawl_delay_s()
        self._set_robots(
            keys=keys,
            args=[host, now, "ok", _s(text), _s(delay), 0, 0, p.min_delay_ms / 1000.0, p.max_crawl_delay_s],
        )

    def complete(self, lease: Lease, outcome: Outcome, now: float) -> None:
        kind = outcome.kind or lease.kind
        revisit = kind in REVISITED_KINDS
        interval = self._revisit.get(lease.outlet or "", self._settings.frontier.revisit_interval_s)
        p = self._settings.politeness
        self._complete(
            keys=[
                self.k.url(lease.url),
                self.k.host(lease.host),
                self.k.queue(lease.host),
                self.k.hosts,
                self.k.leased,
                self.k.unfetched,
                self.k.delayed,
                self.k.states,
                self.k.counters,
            ],
            args=[
                lease.url,
                lease.host,
                now,
                kind,
                PRIORITY[kind],
                outcome.status,
                _s(outcome.etag),
                _s(outcome.last_modified),
                _s(outcome.body_hash),
                int(revisit),
                now + interval,
                p.min_delay_ms / 1000.0,
                p.max_crawl_delay_s,
                _s(lease.leased_at),
            ],
        )

    def fail(self, lease: Lease, error: NewscrawlError, now: float) -> None:
        p = self._settings.politeness
        if lease.kind == "robots":
            self.set_robots(lease.host, None, now, reachable=not error.transient)
            return
        attempts = lease.attempts + 1
        fetched = self._r.hget(self.k.url(lease.url), "fetched_at")
        if error.transient and attempts < self._settings.frontier.max_attempts:
            mode, due = "retry", p.backoff_base_s * attempts
        elif lease.kind in REVISITED_KINDS and fetched:
            # A feed that fails today is still worth a visit on its next interval.
            attempts = 0
            mode = "revisit"
            due = now + self._revisit.get(lease.outlet or "", self._settings.frontier.revisit_interval_s)
        else:
            mode, due = "final", 0.0
        throttled = isinstance(error, HTTPStatusError) and error.status in (429, 503)
        retry_after = error.retry_after_s if isinstance(error, HTTPStatusError) else None
        status = error.status if isinstance(error, HTTPStatusError) else ""
        self._fail(
            keys=[
                self.k.url(lease.url),
                self.k.host(lease.host),
                self.k.queue(lease.host),
                self.k.hosts,
                self.k.leased,
                self.k.unfetched,
                self.k.delayed,
                self.k.states,
                self.k.counters,
                self.k.errors,
            ],
            args=[
                lease.url,
                lease.host,
                now,
                mode,
                due,
                attempts,
                status,
                error.kind,
                int(throttled),
                _s(retry_after),
                p.backoff_base_s,
                p.backoff_max_s,
                p.min_delay_ms / 1000.0,
                p.max_crawl_delay_s,
                error.message,
                _s(lease.leased_at),
                self._settings.frontier.errors_kept,
            ],
        )

    # --- inspection -------------------------------------------------------------------------

    def pending(self, now: float, *, fetched_before: float | None = None) -> int:
        return int(
            self._pending(
                keys=[
                    self.k.unfetched,
                    self.k.leased,
                    self.k.delayed,
                    self.k.ready_revisits,
                    self.k.robots_in_flight,
                ],
                args=[now, self.k.url_prefix, _s(fetched_before)],
            )
        )

    def next_wakeup(self, now: float) -> float | None:
        pipe = self._r.pipeline(transaction=False)
        for key in (self.k.hosts, self.k.delayed):
            pipe.zrange(key, 0, 0, withscores=True)
        times = [float(score) for reply in pipe.execute() for _, score in reply]
        return min(times) if times else None

    def holds(self, leases: list[Lease]) -> list[bool]:
        """Whether each lease is still its holder's (not expired and handed to someone else)."""
        pipe = self._r.pipeline(transaction=False)
        for lease in leases:
            if lease.kind == "robots":
                pipe.zscore(self.k.robots_leased, lease.host)
            else:
                pipe.zscore(self.k.leased, lease.url)
        scores = pipe.execute() if leases else []
        return [
            score is not None and (lease.leased_at is None or abs(float(score) - lease.leased_at) < 1e-3)
            for lease, score in zip(leases, scores, strict=True)
        ]

    def in_flight(self) -> int:
        """Leases handed out and not reported back yet."""
        pipe = self._r.pipeline(transaction=False)
        pipe.zcard(self.k.leased)
        pipe.zcard(self.k.robots_leased)
        return sum(int(n) for n in pipe.execute())

    def errors(self, final_only: bool = True) -> list[dict[str, Any]]:
        records = [json.loads(x) for x in self._r.lrange(self.k.errors, 0, -1)]
        return [r for r in records if r["final"] or not final_only]

    def stats(self) -> dict[str, object]:
        states = {k: int(v) for k, v in self._r.hgetall(self.k.states).items() if int(v)}
        errors: dict[str, int] = {}
        counters: dict[str, int] = {}
        for key, value in self._r.hgetall(self.k.counters).items():
            if key.startswith("failed:"):
                errors[key.removeprefix("failed:")] = int(value)
            else:
                counters[key] = int(value)
        now = time.time()
        return {
            "urls": states,
            "hosts": int(self._r.scard(self.k.all_hosts)),
            "hosts_queued": int(self._r.zcard(self.k.hosts)),
            "hosts_due": int(self._r.zcount(self.k.hosts, "-inf", now)),
            "leased": self.in_flight(),
            "delayed": int(self._r.zcard(self.k.delayed)),
            "errors": errors,
            **counters,
        }

    def close(self) -> None:
        self._r.close()
