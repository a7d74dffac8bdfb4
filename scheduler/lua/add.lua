-- The seen filter holds 1 for a URL added, its last fetch time once fetched. A story fetched
-- before comes in again when its feed or sitemap dates a change (ARGV[14]) later than that fetch
-- (beyond the clocks' slack, ARGV[16]) and the fetch is the minimum gap (ARGV[15]) old: the
-- policy's refetch_due, decided here atomically.
local seen = redis.call('HGET', KEYS[8], ARGV[12])
local refetch = 0
if seen then
  local fetched, modified = tonumber(seen), tonumber(ARGV[14])
  if not (modified and fetched > 1 and modified > fetched + tonumber(ARGV[16])
      and tonumber(ARGV[9]) - fetched >= tonumber(ARGV[15])) then
    return 0
  end
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  refetch = 1
end
if redis.call('HGET', KEYS[2], 'budget_window') ~= ARGV[13] then
  redis.call('HSET', KEYS[2], 'enqueued', 0, 'budget_window', ARGV[13])
end
local enq = tonumber(redis.call('HGET', KEYS[2], 'enqueued') or '0')
if enq >= tonumber(ARGV[11]) then return -1 end
if refetch == 0 then redis.call('HSET', KEYS[8], ARGV[12], 1) end
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
return 1 + refetch
