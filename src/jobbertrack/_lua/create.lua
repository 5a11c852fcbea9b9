-- create: make a new job in state "waiting".
-- KEYS: the job layout of _lib.lua (1 job, 2-5 indexes, 6 due, 7 events, 8 tomb)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  lifetime of the record, ms (> 0)
-- ARGV[6]  '1' when ARGV[7] holds initial data (JSON), else '0'
-- ARGV[7]  data, JSON text
-- ARGV[8]  name ('' = none)
-- ARGV[9]  tombstones kept per shard
-- ARGV[10] cleanup batch: expired index entries of one state (chosen in
--          turn) moved to the tombstones per call
-- Returns {'ok', fields, 1}: the fields written (flat, without data), or
--         {'exists'} when the id is taken, or {'ok', fields} with the whole
--         record (without data) for a replay of this very call.
local now = now_ms()
if redis.call('EXISTS', JOB) == 1 then
  if is_replay() then return {'ok', snapshot(false)} end  -- answer as the first call did
  return {'exists'}
end
local expires = now + tonumber(ARGV[5])
-- one create in four (by the clock's microseconds, which no caller's period
-- lines up with) tidies one state's index, a batch at a time: far more than
-- jobs can expire between them (sweep does all)
if NOW_US % 16 < 4 then cleanup(now, tonumber(ARGV[10]), tonumber(ARGV[9]), 2 + NOW_US % 4) end
local fields = {'state', 'waiting', 'created', now, 'expires', expires}
if TOKEN ~= '' then
  fields[#fields + 1] = 'token'
  fields[#fields + 1] = TOKEN
end
if ARGV[8] ~= '' then
  fields[#fields + 1] = 'name'
  fields[#fields + 1] = ARGV[8]
end
redis.call('HSET', JOB, unpack(with_data(fields, ARGV[6] == '1', ARGV[7])))
redis.call('PEXPIREAT', JOB, expires)
index_move(nil, 'waiting', expires, now)
emit('waiting', now, expires)
return {'ok', fields, 1}
