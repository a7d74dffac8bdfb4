-- The seen filter holds 1 for a URL added, its last fetch time once fetched. A story fetched
-- before comes in again when its feed or sitemap dates a change (ARGV[14]) later than that fetch
-- (beyond the clocks' slack, ARGV[16]) and the fetch is the minimum gap (ARGV[15]) old: the
-- policy's refetch_due, decided here atomically.
-- A story shown with a headline (ARGV[18], a digest; '' to leave headlines alone) by a page
-- (ARGV[17], a digest of its address) is recorded under that page the first time (KEYS[9], this
-- period's bucket, field ARGV[23], living ARGV[24] s); shown by the same page under another headline
-- within ARGV[22] s of that first time, it changed since the page's previous visit (ARGV[25];
-- '' for now), the gap being the larger of ARGV[20] and ARGV[21] of its age (from its
-- publication ARGV[19], or its first listing): the policy's headline_refetch. The new headline
-- is kept unless the change waits for its gap (headline_waits).
local now = tonumber(ARGV[9])
local keep_key, keep_value, changed_gap = nil, nil, nil
local changed_at = tonumber(ARGV[25]) or now
if ARGV[18] ~= '' then
  local key, record = KEYS[9], redis.call('HGET', KEYS[9], ARGV[23])
  if not record then
    key, record = KEYS[10], redis.call('HGET', KEYS[10], ARGV[23])
  end
  if not record then
    keep_key, keep_value = KEYS[9], ARGV[17] .. ':' .. ARGV[18] .. ':' .. string.format('%d', math.floor(now))
  else
    local source, headline, first = string.match(record, '^(%x+):(%x+):(%d+)$')
    first = tonumber(first)
    if source == ARGV[17] and headline ~= ARGV[18] and now - first <= tonumber(ARGV[22]) then
      local start = first
      local published = tonumber(ARGV[19])
      if published and published < start then start = published end
      changed_gap = math.max(tonumber(ARGV[20]), tonumber(ARGV[21]) * (now - start))
      keep_key, keep_value = key, source .. ':' .. ARGV[18] .. ':' .. string.format('%d', first)
    end
  end
end
local function keep_headline()
  if keep_key then
    redis.call('HSET', keep_key, ARGV[23], keep_value)
    if redis.call('TTL', keep_key) < 0 then redis.call('EXPIRE', keep_key, ARGV[24]) end
  end
end

local seen = redis.call('HGET', KEYS[8], ARGV[12])
local fetched = tonumber(seen or '0')
local slack = tonumber(ARGV[16])
-- the policy's headline_waits: a change the last fetch predates, too soon after it to act on
if not (changed_gap and fetched > 1 and changed_at > fetched + slack and now - fetched < changed_gap) then
  keep_headline()
end
local refetch = 0
if seen then
  local modified = tonumber(ARGV[14])
  local dated = modified and fetched > 1 and modified > fetched + slack and now - fetched >= tonumber(ARGV[15])
  local retitled = changed_gap and fetched > 1 and changed_at > fetched + slack and now - fetched >= changed_gap
  if not (dated or retitled) then return 0 end
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
