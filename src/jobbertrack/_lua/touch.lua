--! flags:
--! include: _states _lib _groups
--! keys: layout
-- touch: a worker's sign of life: a heartbeat, or a progress report (which
-- also counts as a heartbeat).  Not a state change.
-- A job may be touched only in the states of ALIVE (_states.lua).
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5 queue, 6.. the state indexes)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  progress, JSON text ('' or left out = plain heartbeat: no event)
-- More ARGV are refused with an error reply, before anything is read.
-- Returns {'ok', fields, 1} (the fields written) | {'ok', record} (a replay)
--         | {'bad', record} (not in those states) | {'expired'} | {'gone'}
--         (as transition) | {'corrupt', field} (a field it relies on is
--         malformed: malformed() in _lib.lua; nothing written)
if #ARGV > 5 then return redis.error_reply('ERR touch: ARGV stop at 5') end
local now = now_ms()
local h, reply = checked_head(true, now)
if not h then return reply end
if TOKEN ~= '' and h.token == TOKEN then return {'ok', snapshot(false)} end  -- a replay
local state = settle(h, now)
if not in_set(ALIVE, state) then
  return {'bad', snapshot(true)}
end
local progress = ARGV[5] or ''
local lease, maxrt, started = tonumber(h.lease), tonumber(h.max_runtime), tonumber(h.started)
local fields = {'token', TOKEN, 'beat', now}
if lease then
  local due = now + lease
  if maxrt and started + maxrt < due then due = started + maxrt end
  redis.call('ZADD', DUE, due, ID)
end
if progress ~= '' then
  fields[#fields + 1] = 'progress'
  fields[#fields + 1] = progress
end
redis.call('HSET', JOB, unpack(fields))
if progress ~= '' then emit(state, now, nil, 'progress', progress) end
return {'ok', fields, 1}
