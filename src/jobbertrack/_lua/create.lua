-- create: make a new job in state "waiting".
-- KEYS: the job layout of _lib.lua (1 job, 2-5 indexes, 6 due, 7 events, 8 tomb)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  lifetime of the record, ms (> 0)
-- ARGV[6]  '1' when ARGV[7] holds initial data (JSON), else '0'
-- ARGV[7]  data, JSON text
-- ARGV[8]  name ('' = none)
-- ARGV[9]  tombstones kept per shard
-- ARGV[10] cleanup batch: expired index entries moved per state and call
-- Returns {'ok', fields...} (fields: flat HGETALL without data), or
--         {'exists'} when the id is taken (a replay of this very call is 'ok').
local now = now_ms()
if redis.call('EXISTS', JOB) == 1 then
  if is_replay() then return {'ok', snapshot(false)} end
  return {'exists'}
end
local expires = now + tonumber(ARGV[5])
cleanup(now, tonumber(ARGV[10]), tonumber(ARGV[9]))
local fields = {'state', 'waiting', 'created', now, 'expires', expires}
if TOKEN ~= '' then
  fields[#fields + 1] = 'token'
  fields[#fields + 1] = TOKEN
end
if ARGV[6] == '1' then
  fields[#fields + 1] = 'data'
  fields[#fields + 1] = ARGV[7]
end
if ARGV[8] ~= '' then
  fields[#fields + 1] = 'name'
  fields[#fields + 1] = ARGV[8]
end
redis.call('HSET', JOB, unpack(fields))
redis.call('PEXPIREAT', JOB, expires)
index_move(nil, 'waiting', expires, now)
emit('waiting', now, expires)
return {'ok', snapshot(false)}
