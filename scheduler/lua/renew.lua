-- Heartbeat: leases still held get a new deadline (their score in the leased sets).
-- KEYS: leased, robots_leased. ARGV: now, url prefix, host prefix, then (kind, member, token)...
local now = tonumber(ARGV[1])
local renewed = 0
for i = 4, #ARGV, 3 do
  local kind, member, token = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if kind == 'url' then
    if lease_held(KEYS[1], member, token, ARGV[2] .. member, 'lease_token') then
      redis.call('ZADD', KEYS[1], 'XX', now, member)
      renewed = renewed + 1
    end
  elseif lease_held(KEYS[2], member, token, ARGV[3] .. member, 'robots_token') then
    redis.call('ZADD', KEYS[2], 'XX', now, member)
    renewed = renewed + 1
  end
end
return renewed
