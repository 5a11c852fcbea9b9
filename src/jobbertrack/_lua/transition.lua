-- transition: one compare-and-set move of a job's state.
-- KEYS: the job layout of _lib.lua (1 job, 2-5 indexes, 6 due, 7 events, 8 tomb)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  target state
-- ARGV[6]  allowed source states, space separated (from the table in
--          jobbertrack/_core/transitions.py)
-- ARGV[7]  data to store, JSON text ('' = none: JSON text is never empty)
-- ARGV[8]  error details, JSON text ('' = none)
-- ARGV[9]  lease, ms ('' = none)          (target "running" only)
-- ARGV[10] maximum run time, ms ('' = none) (target "running" only)
-- ARGV 7-10 may be left out from the end: absent means ''.
-- Returns {'ok', fields, 1}    the move happened: the fields written (flat,
--                              without data)
--         {'ok', fields...}   a replay of a call that did: the whole record
--                              (without data)
--         {'bad', fields...}  the state found does not allow the move: the
--                              whole record, data included
--         {'expired'}         no record, and the id is remembered as expired
--         {'gone'}            no record, and nothing remembers the id
if #ARGV > 10 then  -- the layout before 2026-11-28 had 11: never misread it
  return redis.error_reply('ERR transition takes at most 10 arguments (see docs/data-model.md)')
end
local now = now_ms()
local head = redis.call('HMGET', JOB, 'state', 'token', 'expires', 'lease', 'beat', 'max_runtime', 'started')
local state = head[1]
if not state then return missing() end
if TOKEN ~= '' and head[2] == TOKEN then return {'ok', snapshot(false)} end  -- a replay
state = settle(state, now, {head[4], head[5], head[6], head[7]})
local target = ARGV[5]
if not string.find(' ' .. ARGV[6] .. ' ', ' ' .. state .. ' ', 1, true) then
  return {'bad', snapshot(true)}
end
local data, err = ARGV[7] or '', ARGV[8] or ''
local fields = {'token', TOKEN}
local expires
if target == 'running' then
  local lease, maxrt = tonumber(ARGV[9] or ''), tonumber(ARGV[10] or '')
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
  if err ~= '' then
    fields[#fields + 1] = 'error'
    fields[#fields + 1] = err
  end
  local leased = head[4] ~= false or head[6] ~= false
  expires = finish_as(state, target, now, fields, tonumber(head[3]), data ~= '', data, leased)
  if err ~= '' then
    emit(target, now, nil, 'error', err)
  else
    emit(target, now)
  end
end
return {'ok', fields, 1}
