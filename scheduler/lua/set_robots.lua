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
  'crawl_delay_s', ARGV[5], 'delay_s', ARGV[8])
release(KEYS[1], KEYS[2], KEYS[3], ARGV[1], now, tonumber(ARGV[8]))
return 1
