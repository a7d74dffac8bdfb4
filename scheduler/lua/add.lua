if redis.call('HEXISTS', KEYS[8], ARGV[12]) == 1 then return 0 end
if redis.call('HGET', KEYS[2], 'budget_window') ~= ARGV[13] then
  redis.call('HSET', KEYS[2], 'enqueued', 0, 'budget_window', ARGV[13])
end
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
