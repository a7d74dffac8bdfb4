local function set_state(ukey, states, new)
  local old = redis.call('HGET', ukey, 'state')
  if old then redis.call('HINCRBY', states, old, -1) end
  redis.call('HSET', ukey, 'state', new)
  redis.call('HINCRBY', states, new, 1)
end
-- The host's delay by the calling process's settings ("min_delay_s,max_crawl_delay_s"): the
-- minimum delay, or the Crawl-delay of its robots.txt capped at the maximum when that is longer
-- (politeness.host_delay_s). Worked out at each use, so a change of either setting reaches
-- every host at once, not at its next robots.txt fetch.
local function host_delay(hk, delays)
  local min_delay, max_crawl = string.match(delays, '^([^,]+),([^,]+)$')
  min_delay, max_crawl = tonumber(min_delay), tonumber(max_crawl) or math.huge
  local crawl_delay = tonumber(redis.call('HGET', hk, 'crawl_delay_s') or '')
  if crawl_delay then return math.max(min_delay, math.min(crawl_delay, max_crawl)) end
  return min_delay
end
-- A lease is its holder's while it is in the leased set (scored by its last renewal) and the
-- token the holder got (the lease time) is still the one stored: not expired and handed on.
local function lease_held(leased, member, token, hk, field)
  if not redis.call('ZSCORE', leased, member) then return false end
  if token == '' then return true end
  local t = redis.call('HGET', hk, field)
  return t ~= false and math.abs(tonumber(t) - tonumber(token)) < 1e-3
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
