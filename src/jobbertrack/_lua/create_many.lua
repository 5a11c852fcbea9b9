-- create_many: make several new jobs of one shard in state "waiting", in
-- one call (Handler.create_many sends one such call per shard per batch).
-- KEYS[1]    the shard's job-key prefix (untouched)
-- KEYS[2-8]  the shard keys of the job layout (_lib.lua: 2-5 indexes,
--            6 due, 7 events, 8 tomb)
-- KEYS[9..]  the job hashes, one per id in ARGV[11..]
-- ARGV[1..4]: '', token (one for the whole call), event cap, tombstone
--             lifetime ms (see _lib.lua)
-- ARGV[5]  lifetime of the records, ms (> 0)
-- ARGV[6]  '1' when ARGV[7] holds initial data (JSON), else '0'
-- ARGV[7]  data, JSON text (the same for every job)
-- ARGV[8]  name ('' = none)
-- ARGV[9]  tombstones kept per shard
-- ARGV[10] cleanup batch (expired index entries moved per state)
-- ARGV[11..] the job ids
-- Returns {'ok', created_ms, expires_ms} (also for a replay of this very
-- call), or {'exists', id} when an id is taken: then nothing was written.
local now = now_ms()
local n = #KEYS - 8
for i = 1, n do
  if redis.call('EXISTS', KEYS[8 + i]) == 1 then
    local f = redis.call('HMGET', KEYS[8 + i], 'token', 'created', 'expires')
    if TOKEN ~= '' and f[1] == TOKEN then return {'ok', f[2], f[3]} end  -- a replay
    return {'exists', ARGV[10 + i]}
  end
end
local expires = now + tonumber(ARGV[5])
cleanup(now, tonumber(ARGV[10]), tonumber(ARGV[9]))
local fields = {'state', 'waiting', 'created', now, 'expires', expires, 'token', TOKEN}
if ARGV[8] ~= '' then
  fields[#fields + 1] = 'name'
  fields[#fields + 1] = ARGV[8]
end
fields = with_data(fields, ARGV[6] == '1', ARGV[7])
local members = {}
for i = 1, n do
  local id = ARGV[10 + i]
  redis.call('HSET', KEYS[8 + i], unpack(fields))
  redis.call('PEXPIREAT', KEYS[8 + i], expires)
  xadd(now, 'job', id, 'state', 'waiting')
  members[#members + 1] = expires
  members[#members + 1] = id
  if #members >= 1000 then
    redis.call('ZADD', KEYS[2], unpack(members))
    members = {}
  end
end
if #members > 0 then redis.call('ZADD', KEYS[2], unpack(members)) end
keep_until(KEYS[2], expires + TOMB_TTL, now)
keep_until(EVENTS, expires, now)
return {'ok', now, expires}
