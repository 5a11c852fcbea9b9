--! flags:
--! include: _states _lib
--! keys: layout+
-- create_many: make several new jobs of one shard in the state INITIAL
-- ("waiting"), in one call (Handler.create_many sends one such call per
-- shard per batch).
-- KEYS[1..NKEYS]  the shard layout of _states.lua (1 the shard's job-key
--                 prefix, untouched; 2 due, 3 events, 4 tomb, 5.. indexes)
-- KEYS[NKEYS+1..] the job hashes, one per id (the last ARGV)
-- ARGV[1..4]: '', token (one for the whole call), event cap, tombstone
--             lifetime ms (see _lib.lua)
-- ARGV[5..7]  as create: lifetime ms, tombstones per shard, cleanup batch
-- ARGV[8..]   the fields set at create, field, value pairs as create (the
--             same for every job), then the job ids: as many as job hashes
-- Returns {'ok', created_ms, expires_ms} (also for a replay of this very
-- call), or {'exists', id} when an id is taken: then nothing was written.
local n = #KEYS - NKEYS
local given = create_fields(8, #ARGV - n)
if given.err then return given.err end
local now = now_ms()
for i = 1, n do
  if redis.call('EXISTS', KEYS[NKEYS + i]) == 1 then
    local f = redis.call('HMGET', KEYS[NKEYS + i], 'token', 'created', 'expires')
    if TOKEN ~= '' and f[1] == TOKEN then return {'ok', f[2], f[3]} end  -- a replay
    return {'exists', ARGV[#ARGV - n + i]}
  end
end
local expires = now + tonumber(ARGV[5])
cleanup(now, tonumber(ARGV[7]), tonumber(ARGV[6]))
local fields = {'state', INITIAL, 'created', now, 'expires', expires, 'token', TOKEN}
for _, f in ipairs(given.fields) do fields[#fields + 1] = f end
fields = with_data(fields, given.data ~= nil, given.data, 'data')
local index = KEYS[IDX[INITIAL]]
local members = {}
for i = 1, n do
  local id = ARGV[#ARGV - n + i]
  redis.call('HSET', KEYS[NKEYS + i], unpack(fields))
  redis.call('PEXPIREAT', KEYS[NKEYS + i], expires)
  xadd(now, 'job', id, 'state', INITIAL)
  members[#members + 1] = expires
  members[#members + 1] = id
  if #members >= 1000 then
    redis.call('ZADD', index, unpack(members))
    members = {}
  end
end
if #members > 0 then redis.call('ZADD', index, unpack(members)) end
keep_until(index, expires + TOMB_TTL, now)
keep_until(EVENTS, expires, now)
return {'ok', now, expires}
