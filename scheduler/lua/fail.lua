local now = tonumber(ARGV[3])
if not lease_held(KEYS[5], ARGV[1], ARGV[13], KEYS[1], 'lease_token') then return -1 end
local wait = host_delay(KEYS[2], ARGV[11])
if ARGV[9] == '1' then
  -- the policy's rest by back-off level (ARGV[10]: comma-separated, level 1 first)
  local level = redis.call('HINCRBY', KEYS[2], 'backoff_level', 1)
  local schedule = {}
  for w in string.gmatch(ARGV[10], '[^,]+') do table.insert(schedule, tonumber(w)) end
  local w = schedule[math.min(level, #schedule)]
  if w > wait then wait = w end
  redis.call('HINCRBY', KEYS[9], 'backoffs', 1)
end
redis.call('ZREM', KEYS[5], ARGV[1])
local mode = ARGV[4]
local final = 0
if mode == 'retry' then
  local due = math.max(now + wait, tonumber(ARGV[5]))
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
  -- a story fetched before that fails when fetched again is not asked for again before the gap
  local fetched = tonumber(redis.call('HGET', KEYS[11], ARGV[15]) or '')
  if fetched and fetched > 1 then redis.call('HSET', KEYS[11], ARGV[15], math.floor(now)) end
end
if final == 1 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'attempts', ARGV[6], 'lost', 0, 'status', ARGV[7], 'error_kind', ARGV[8],
    'error', ARGV[12])
end
record_error(KEYS[10], KEYS[9], ARGV[14], ARGV[1], ARGV[8], ARGV[12], now, final)
release(KEYS[2], KEYS[3], KEYS[4], ARGV[2], now, wait)
return final
