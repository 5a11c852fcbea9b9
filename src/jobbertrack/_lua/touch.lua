-- touch: a running job's sign of life: a heartbeat, or a progress report
-- (which also counts as a heartbeat).  Not a state change.
-- KEYS: the job layout of _lib.lua (1 job, 2-5 indexes, 6 due, 7 events, 8 tomb)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  progress, JSON text ('' = plain heartbeat: no event)
-- Returns {'ok', fields, 1} (the fields written) | {'ok', record} (a replay)
--         | {'bad', record} (not running) | {'expired'} | {'gone'} (as transition)
local now = now_ms()
local state = redis.call('HGET', JOB, 'state')
if not state then return missing() end
if is_replay() then return {'ok', snapshot(false)} end
state = settle(state, now)
if state ~= 'running' then return {'bad', snapshot(true)} end
local f = redis.call('HMGET', JOB, 'lease', 'max_runtime', 'started', 'expires')
local lease, maxrt, started = tonumber(f[1]), tonumber(f[2]), tonumber(f[3])
local fields = {'token', TOKEN, 'beat', now}
if lease then
  local due = now + lease
  if maxrt and started + maxrt < due then due = started + maxrt end
  redis.call('ZADD', DUE, due, ID)
end
if ARGV[5] ~= '' then
  fields[#fields + 1] = 'progress'
  fields[#fields + 1] = ARGV[5]
end
redis.call('HSET', JOB, unpack(fields))
if ARGV[5] ~= '' then emit('running', now, nil, 'progress', ARGV[5]) end
return {'ok', fields, 1}
