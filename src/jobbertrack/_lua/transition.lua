-- transition: one compare-and-set move of a job's state (a move of the
-- table in jobbertrack/_core/transitions.py, which gives ARGV 5, 6 and 11).
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5.. the state indexes)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  target state
-- ARGV[6]  allowed source states, space separated
-- ARGV[7]  data to store, JSON text ('' = none: JSON text is never empty)
-- ARGV[8]  error details, JSON text ('' = none)
-- ARGV[9]  lease, ms ('' = none)          (target "running" only)
-- ARGV[10] maximum run time, ms ('' = none) (target "running" only)
-- ARGV[11] fields the move deletes, space separated ('' = none)
-- ARGV 7-11 may be left out from the end: absent means ''.
-- The move sets `state`, the target's time stamp (STAMP in _states.lua),
-- `token`, and data and error when given; a move into "running" starts
-- its lease and maximum run time, a move out of it ends them.
-- Returns {'ok', fields, 1}    the move happened: the fields written (flat,
--                              without data)
--         {'ok', fields...}   a replay of a call that did: the whole record
--                              (without data)
--         {'bad', fields...}  the state found does not allow the move: the
--                              whole record, data included
--         {'expired'}         no record, and the id is remembered as expired
--         {'gone'}            no record, and nothing remembers the id
--         {'corrupt', field}  a field it relies on is malformed (a record
--                              without a state included: malformed() in
--                              _lib.lua); nothing written
local now = now_ms()
local h, reply = checked_head(true)
if not h then return reply end
if TOKEN ~= '' and h.token == TOKEN then return {'ok', snapshot(false)} end  -- a replay
local state = settle(h, now)
local target = ARGV[5]
if not string.find(' ' .. ARGV[6] .. ' ', ' ' .. state .. ' ', 1, true) then
  return {'bad', snapshot(true)}
end
local data, err, clears = ARGV[7] or '', ARGV[8] or '', ARGV[11] or ''
-- a failing attempt of a queued job with retries left goes back to
-- its queue (requeue() in _lib.lua); the reply is then the whole record.
if target == 'failed' and state == 'running' and requeue(h, now, err ~= '' and err or '{}') then
  return {'ok', snapshot(false)}
end
local fields = {'token', TOKEN}
local due
if target == 'running' then
  due = start_fields(fields, tonumber(ARGV[9] or ''), tonumber(ARGV[10] or ''), now)
end
if err ~= '' then
  fields[#fields + 1] = 'error'
  fields[#fields + 1] = err
end
if clears ~= '' then
  local gone = {}
  for name in string.gmatch(clears, '%S+') do gone[#gone + 1] = name end
  redis.call('HDEL', JOB, unpack(gone))
end
local expires = tonumber(h.expires)
move(state, target, now, fields, expires, data ~= '', data, h.lease ~= nil or h.max_runtime ~= nil)
if due then
  redis.call('ZADD', DUE, due, ID)
  keep_until(DUE, expires + TOMB_TTL, now)
end
if err ~= '' then
  emit(target, now, nil, 'error', err)
else
  emit(target, now)
end
return {'ok', fields, 1}
