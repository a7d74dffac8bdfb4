-- A worker appends an operation on a document to the stream and notes the entry under the
-- document: indexers apply one document's entries in the order written (start_bulk.lua).
-- KEYS: stream, held. ARGV: op, document id, payload.
local entry = redis.call('XADD', KEYS[1], '*', 'op', ARGV[1], 'id', ARGV[2], 'payload', ARGV[3])
local ids = held_ids(KEYS[2], ARGV[2])
table.insert(ids, entry)
store_held(KEYS[2], ARGV[2], ids)
return entry
