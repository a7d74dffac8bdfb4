-- A batch starts: each lease still held (its token current) and not started by another runner
-- is claimed for this one. A broker that hands a running task out a second time (RabbitMQ after a
-- lost connection, Redis's visibility timeout read by a clock that runs ahead) thus fetches nothing
-- twice: the copy finds its leases claimed. A claim under an older token is stale and taken over.
-- With a time (ARGV[4] not empty) a lease claimed is renewed in the same step: one that expired
-- while its task waited in the queue is not handed out again by a lease call in between.
-- KEYS: leased, robots_leased. ARGV: url prefix, host prefix, runner, now or '', then
-- (kind, member, token)...
local out = {}
local now = tonumber(ARGV[4])
for i = 5, #ARGV, 3 do
  local kind, member, token = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local leased, key, token_field, runner_field = KEYS[1], ARGV[1] .. member, 'lease_token', 'lease_runner'
  if kind == 'robots' then
    leased, key, token_field, runner_field = KEYS[2], ARGV[2] .. member, 'robots_token', 'robots_runner'
  end
  local claimed = 0
  if lease_held(leased, member, token, key, token_field) then
    local current = (redis.call('HGET', key, token_field) or '') .. ' '
    local mine = current .. ARGV[3]
    local claim = redis.call('HGET', key, runner_field)
    if (not claim) or claim == mine or string.sub(claim, 1, #current) ~= current then
      redis.call('HSET', key, runner_field, mine)
      claimed = 1
      if now then redis.call('ZADD', leased, 'XX', now, member) end
    end
  end
  table.insert(out, claimed)
end
return out
