-- Stream entry ids ("<ms>-<seq>") in stream order; the milliseconds fit a double exactly.
local function entry_before(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if tonumber(ams) ~= tonumber(bms) then return tonumber(ams) < tonumber(bms) end
  return tonumber(aseq) < tonumber(bseq)
end
-- The entry ids held for a document, oldest first (HGET gives false for none).
local function held_ids(held, doc)
  local ids = {}
  local list = redis.call('HGET', held, doc)
  if list then
    for id in string.gmatch(list, '%S+') do table.insert(ids, id) end
  end
  return ids
end
local function store_held(held, doc, ids)
  if #ids == 0 then
    redis.call('HDEL', held, doc)
  else
    redis.call('HSET', held, doc, table.concat(ids, ' '))
  end
end
