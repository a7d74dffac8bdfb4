-- An indexer's bulk request is about to start. While a reindex pauses the indexers: 0, and
-- nothing is marked. Otherwise the request is marked in flight (its deadline in Redis time, so a
-- reindex stops waiting for an indexer that died mid-request) and each entry, given in stream
-- order, gets a verdict:
--   1  it goes; its idle time starts again, so no other indexer claims it while the request runs;
--   0  it waits: an earlier entry of its document is still held (by another indexer, or here
--      behind one that waits), and the engine must apply them in the order written;
--  -1  it is not this indexer's any more (another claimed it after it idled, or acknowledged it).
-- Ids noted under a document that are no longer pending (acknowledged by an indexer that died
-- before it forgot them) are forgotten here.
-- KEYS: bulks, paused, stream, held. ARGV: indexer, seconds the request may take, group,
-- then (entry id, document id)...
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) + tonumber(t[2]) / 1e6 + tonumber(ARGV[2]), ARGV[1])
local indexer, group = ARGV[1], ARGV[3]
local function holder(id)
  local found = redis.call('XPENDING', KEYS[3], group, id, id, 1)[1]
  return found and found[2]
end
local going, verdicts = {}, {}
for i = 4, #ARGV, 2 do
  local entry, doc = ARGV[i], ARGV[i + 1]
  local verdict = -1
  if holder(entry) == indexer then
    verdict = 1
    local kept = {}
    for _, id in ipairs(held_ids(KEYS[4], doc)) do
      if id == entry or going[id] or not entry_before(id, entry) then
        table.insert(kept, id)
      elseif holder(id) then
        table.insert(kept, id)
        verdict = 0
      end
    end
    store_held(KEYS[4], doc, kept)
    if verdict == 1 then
      going[entry] = true
      redis.call('XCLAIM', KEYS[3], group, indexer, 0, entry, 'JUSTID')
    end
  end
  table.insert(verdicts, verdict)
end
return verdicts
