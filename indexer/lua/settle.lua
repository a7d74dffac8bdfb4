-- Entries the engine applied (or that went to the dead letters) are acknowledged and forgotten
-- under their documents in one step: a document's next entry never waits for one already done.
-- KEYS: stream, held. ARGV: group, then (entry id, document id)...
for i = 2, #ARGV, 2 do
  local entry, doc = ARGV[i], ARGV[i + 1]
  redis.call('XACK', KEYS[1], ARGV[1], entry)
  local kept = {}
  for _, id in ipairs(held_ids(KEYS[2], doc)) do
    if id ~= entry then table.insert(kept, id) end
  end
  store_held(KEYS[2], doc, kept)
end
return 1
