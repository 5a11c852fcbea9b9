-- touch: a worker's sign of life: a heartbeat, or a progress report (which
-- also counts as a heartbeat).  Not a state change.
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5.. the state indexes)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  the states a job may be touched in, space separated (ALIVE in
--          jobbertrack/_core/transitions.py: "running")
-- ARGV[6]  progress, JSON text ('' or left out = plain heartbeat: no event)
-- Returns {'ok', fields, 1} (the fields written) | {'ok', record} (a replay)
--         | {'bad', record} (not in those states) | {'expired'} | {'gone'}
--         (as transition) | {'corrupt', field} (a field it relies on is
--         malformed: malformed() in _lib.lua; nothing written)
local now = now_ms()
local h, reply = checked_head(true)
if not h then return reply end
if TOKEN ~= '' and h.token == TOKEN then return {'ok', snapshot(false)} end  -- a replay
local state = settle(h, now)
if not string.find(' ' .. ARGV[5] .. ' ', ' ' .. state .. ' ', 1, true) then
  return {'bad', snapshot(true)}
end
local progress = ARGV[6] or ''
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
