local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[3])
local before = nil
if ARGV[10] ~= '' then before = tonumber(ARGV[10]) end
local up, hp, qp = ARGV[4], ARGV[5], ARGV[6]
local function enqueue(url, uk)
  local host = redis.call('HGET', uk, 'host')
  local rank = tonumber(redis.call('HGET', uk, 'priority')) * 1e10
    - tonumber(redis.call('HGET', uk, 'sort_key'))
  redis.call('ZADD', qp .. host, rank, url)
  redis.call('ZADD', KEYS[1], 'NX', redis.call('HGET', hp .. host, 'next_fetch_at') or '0', host)
end
-- leases of dead workers come back
for _, url in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[11]))) do
  local uk = up .. url
  redis.call('ZREM', KEYS[3], url)
  -- A death counts only if a runner had started it (claimed under its current token): a lease
  -- that expired waiting in a slow task queue says nothing about the page.
  local started = (redis.call('HGET', uk, 'lease_token') or '') .. ' '
  local claim = redis.call('HGET', uk, 'lease_runner')
  if claim and string.sub(claim, 1, #started) == started then redis.call('HINCRBY', uk, 'lost', 1) end
  local hk = hp .. redis.call('HGET', uk, 'host')
  if tonumber(redis.call('HGET', hk, 'in_flight') or '0') > 0 then
    redis.call('HINCRBY', hk, 'in_flight', -1)
  end
  set_state(uk, KEYS[6], 'queued')
  enqueue(url, uk)
  redis.call('ZADD', KEYS[1], redis.call('HGET', hk, 'next_fetch_at') or '0', redis.call('HGET', uk, 'host'))
end
-- robots.txt leases of dead workers: the host may be leased again
for _, host in ipairs(redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now - tonumber(ARGV[11]))) do
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
    if ARGV[8] == '1' and ((not rf) or now - tonumber(rf) > tonumber(ARGV[9])) then
      if inflight == 0 then
        redis.call('HINCRBY', hk, 'in_flight', 1)
        redis.call('ZADD', KEYS[1], now + 3600, host)
        if not rf then redis.call('SADD', KEYS[5], host) end
        redis.call('ZADD', KEYS[7], now, host)
        redis.call('HSET', hk, 'robots_token', now)
        -- A feed or sitemap queued first names its outlet: the host may lie off that outlet's hosts.
        local head, outlet = redis.call('ZRANGE', qk, 0, 0), ''
        local head_kind = #head > 0 and redis.call('HGET', up .. head[1], 'kind')
        if head_kind == 'feed' or head_kind == 'sitemap' then
          outlet = redis.call('HGET', up .. head[1], 'outlet') or ''
        end
        table.insert(out, {'robots', host, redis.call('HGET', hk, 'scheme') or 'http', outlet})
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
        redis.call('HSET', uk, 'lease_token', now)
        redis.call('HINCRBY', hk, 'in_flight', 1)
        local nf = tonumber(redis.call('HGET', hk, 'next_fetch_at') or '0')
        local d = host_delay(hk, ARGV[7])
        if now + d > nf then
          nf = now + d
          redis.call('HSET', hk, 'next_fetch_at', nf)
        end
        if inflight + 1 >= cap then redis.call('ZADD', KEYS[1], now + 3600, host)
        else redis.call('ZADD', KEYS[1], nf, host) end
        local f = redis.call('HMGET', uk, 'kind', 'outlet', 'depth', 'attempts', 'etag', 'last_modified',
          'body_hash', 'due_at', 'interval_s', 'fetched_at', 'last_new_at', 'new_ewma', 'span_ewma', 'lost',
          'live_until')
        table.insert(out, {'url', url, host, f[1], f[2], f[3], f[4], f[5], f[6], f[7], rf or '', f[8] or '',
          f[9] or '', f[10] or '', f[11] or '', f[12] or '', f[13] or '', f[14] or '', f[15] or ''})
      end
    end
  end
end
return out
