local now = tonumber(ARGV[3])
if not lease_held(KEYS[5], ARGV[1], ARGV[13], KEYS[1], 'lease_token') then return -1 end
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
redis.call('HSET', KEYS[1], 'kind', ARGV[4], 'priority', ARGV[5], 'status', ARGV[6], 'fetched_at', ARGV[3],
  'attempts', 0, 'lost', 0, 'error_kind', '', 'error', '')
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'etag', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'last_modified', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'body_hash', ARGV[9]) end
if ARGV[10] == '1' then
  -- the sources' demand (visits a second, the sum of 1/interval) for a source budget
  local old = tonumber(redis.call('HGET', KEYS[1], 'interval_s') or '')
  local new = tonumber(ARGV[14])
  local delta = (new and 1 / new or 0) - (old and 1 / old or 0)
  if delta ~= 0 then redis.call('HINCRBYFLOAT', KEYS[9], 'source_demand', delta) end
  set_state(KEYS[1], KEYS[8], 'queued')
  redis.call('HSET', KEYS[1], 'due_at', ARGV[11], 'interval_s', ARGV[14], 'last_new_at', ARGV[15],
    'new_ewma', ARGV[16], 'span_ewma', ARGV[17], 'live_until', ARGV[19])
  redis.call('ZADD', KEYS[7], tonumber(ARGV[11]), ARGV[1])
  if ARGV[19] ~= '' then
    -- a live blog followed: counted against its host's live_max_per_host; the set lasts as long
    -- as its longest-lived member
    redis.call('ZADD', KEYS[11], tonumber(ARGV[19]), ARGV[1])
    local ttl = math.ceil(tonumber(ARGV[19]) - now) + 60
    if redis.call('TTL', KEYS[11]) < ttl then redis.call('EXPIRE', KEYS[11], ttl) end
  else
    redis.call('ZREM', KEYS[11], ARGV[1])
  end
else
  redis.call('ZREM', KEYS[11], ARGV[1])
  set_state(KEYS[1], KEYS[8], 'done')
  redis.call('DEL', KEYS[1])
  -- when it was fetched, in the seen filter: a story that changes later is fetched again
  redis.call('HSET', KEYS[10], ARGV[18], math.floor(now))
end
redis.call('HSET', KEYS[2], 'backoff_level', 0)
redis.call('HINCRBY', KEYS[9], 'fetched', 1)
if ARGV[20] == '1' then redis.call('HINCRBY', KEYS[9], 'live_blogs_not_followed', 1) end
release(KEYS[2], KEYS[3], KEYS[4], ARGV[2], now, host_delay(KEYS[2], ARGV[12]))
return 1
