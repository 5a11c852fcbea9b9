-- transition: one compare-and-set move of a job's state.
-- KEYS: the job layout of _lib.lua (1 job, 2-5 indexes, 6 due, 7 events, 8 tomb)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  target state
-- ARGV[6]  allowed source states, space separated (from the table in
--          jobbertrack/_core/transitions.py)
-- ARGV[7]  '1' when ARGV[8] holds data to store (JSON), else '0'
-- ARGV[8]  data, JSON text
-- ARGV[9]  error details, JSON text ('' = none)
-- ARGV[10] lease, ms ('' = none)          (target "running" only)
-- ARGV[11] maximum run time, ms ('' = none) (target "running" only)
-- Returns {'ok', fields, 1}    the move happened: the fields written (flat,
--                              without data)
--         {'ok', fields...}   a replay of a call that did: the whole record
--                              (without data)
--         {'bad', fields...}  the state found does not allow the move
--         {'gone'}            no such record (never existed or expired)
local now = now_ms()
local head = redis.call('HMGET', JOB, 'state', 'token', 'expires', 'lease', 'beat', 'max_runtime', 'started')
local state = head[1]
if not state then return {'gone'} end
if TOKEN ~= '' and head[2] == TOKEN then return {'ok', snapshot(false)} end  -- a replay
state = settle(state, now, {head[4], head[5], head[6], head[7]})
local target = ARGV[5]
if not string.find(' ' .. ARGV[6] .. ' ', ' ' .. state .. ' ', 1, true) then
  return {'bad', snapshot(false)}
end
local fields = {'token', TOKEN}
local expires
if target == 'running' then
  local lease, maxrt = tonumber(ARGV[10]), tonumber(ARGV[11])
  fields[#fields + 1] = 'state'
  fields[#fields + 1] = 'running'
  fields[#fields + 1] = 'started'
  fields[#fields + 1] = now
  local due
  if lease then
    fields[#fields + 1] = 'lease'
    fields[#fields + 1] = lease
    fields[#fields + 1] = 'beat'
    fields[#fields + 1] = now
    due = now + lease
  end
  if maxrt then
    fields[#fields + 1] = 'max_runtime'
    fields[#fields + 1] = maxrt
    if not due or now + maxrt < due then due = now + maxrt end
  end
  redis.call('HSET', JOB, unpack(fields))
  expires = tonumber(head[3])
  if due then
    redis.call('ZADD', DUE, due, ID)
    keep_until(DUE, expires + TOMB_TTL, now)
  end
  index_move(state, 'running', expires, now)
  emit('running', now)
else
  if ARGV[9] ~= '' then
    fields[#fields + 1] = 'error'
    fields[#fields + 1] = ARGV[9]
  end
  local leased = head[4] ~= false or head[6] ~= false
  expires = finish_as(state, target, now, fields, tonumber(head[3]), ARGV[7] == '1', ARGV[8], leased)
  if ARGV[9] ~= '' then
    emit(target, now, nil, 'error', ARGV[9])
  else
    emit(target, now)
  end
end
return {'ok', fields, 1}
