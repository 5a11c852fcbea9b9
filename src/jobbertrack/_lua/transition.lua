--! flags:
--! include: _states _lib _groups
--! keys: layout
-- transition: one compare-and-set move of a job's state, a move of the
-- table (MOVES in _states.lua, generated from jobbertrack/_core/transitions.py):
-- the caller names the move; its target, the states it may leave and the
-- fields it deletes are the table's, never the caller's.
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5 queue, 6.. the state indexes)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  the move's name (a key of MOVES: start, finish, fail, cancel, retry)
-- ARGV[6]  the result to store (finish), JSON text, in the field `result`
--          ('' = none: JSON text is never empty); the job's input, `data`,
--          is never changed by a move
-- ARGV[7]  error details, JSON text ('' = none)
-- ARGV[8]  lease, ms ('' = none)          (a move into running only);
--          a move into waiting (retry): ms before a job of a queue may be
--          popped again ('' = at once)
-- ARGV[9]  maximum run time, ms ('' = none) (a move into running only)
-- ARGV 6-9 may be left out from the end: absent means ''.  A name the
-- table lacks, or more ARGV than these, is refused with an error reply
-- before anything is read (a caller cannot bring a rule of its own).
-- The move sets `state`, the target's time stamp (STAMP in _states.lua),
-- `token`, and the result and error when given; a move into running starts its
-- lease and maximum run time, leaving a state drops what it held (HOLDS:
-- the `due` entry of running, the queue entry of waiting).  A move out of
-- an ended state (ENDED: a retry) starts a new attempt: the ended one is
-- appended to `attempts` and `attempt` counts up; a job of a queue is put
-- back on it (a new entry: an older entry of it is dropped when popped).
-- Returns {'ok', fields, 1}    the move happened: the fields written (flat,
--                              without the result)
--         {'ok', fields, 1, queues}  the same, and the move ended the job's
--                              group, whose follow-up job was pushed on
--                              queues[1] (WOKE in _groups.lua: the caller
--                              wakes that queue, and strips it)
--         {'ok', fields...}   a replay of a call that did: the whole record
--                              (without data and result)
--         {'bad', fields...}  the state found does not allow the move: the
--                              whole record, data and result included
--         {'expired'}         no record, and the id is remembered as expired
--         {'gone'}            no record, and nothing remembers the id
--         {'corrupt', field}  a field it relies on is malformed (a record
--                              without a state included: malformed() in
--                              _lib.lua); nothing written
local target, sources, clears = move_row(ARGV[5] or '')
if not target or #ARGV > 9 then
  return redis.error_reply('ERR transition: ARGV[5] must name a move of the table, and ARGV stop at 9')
end
local now = now_ms()
local h, reply = checked_head(true, now)
if not h then return reply end
if TOKEN ~= '' and h.token == TOKEN then return {'ok', snapshot(false)} end  -- a replay
if h.kind == GROUP_KIND then return {'bad', snapshot(true)} end  -- a group moves with its children only
local state = settle(h, now)
if not in_set(sources, state) then
  return {'bad', snapshot(true)}
end
local data, err = ARGV[6] or '', ARGV[7] or ''
-- a failing attempt of a queued job with retries left goes back to its
-- queue instead (REQUEUE: requeue() in _lib.lua); the reply is then the
-- whole record.
if target == SETTLE_TO and state == REQUEUE_FROM and requeue(h, now, err ~= '' and err or '{}') then
  return {'ok', snapshot(false)}
end
local fields = {'token', TOKEN}
local due, ready
if HOLDS[target] == 'due' then
  due = start_fields(fields, tonumber(ARGV[8] or ''), tonumber(ARGV[9] or ''), now)
end
if in_set(ENDED, state) and not in_set(ENDED, target) then next_attempt(h, fields, now) end
if HOLDS[target] == 'queue' and h.queue then  -- back on its queue, poppable after the delay
  ready = now + (tonumber(ARGV[8] or '') or 0)
  fields[#fields + 1] = 'ready'
  fields[#fields + 1] = ready
end
if err ~= '' then
  fields[#fields + 1] = 'error'
  fields[#fields + 1] = err
end
if #clears > 0 then redis.call('HDEL', JOB, unpack(clears)) end
local expires = tonumber(h.expires)
move(h, target, now, fields, {result = data ~= '' and data or nil})
if due then
  redis.call('ZADD', DUE, due, ID)
  keep_until(DUE, expires + TOMB_TTL, now)
end
if ready then enqueue(h.queue, ready, expires, now, qpriority(h.priority)) end
if err ~= '' then
  emit(target, now, nil, 'error', err)
else
  emit(target, now)
end
if #WOKE > 0 then return {'ok', fields, 1, WOKE} end  -- a group's follow-up job was pushed
return {'ok', fields, 1}
