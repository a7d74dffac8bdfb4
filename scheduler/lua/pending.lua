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
