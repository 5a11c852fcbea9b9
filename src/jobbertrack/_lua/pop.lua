-- pop: take one entry of a work queue and start its job, in one step (issue
-- 14).  The caller read the entry first (peek.lua): a script may touch only
-- the keys it is given, so it names the job.  The move is the table's
-- `start` (ARGV 10 and 11 come from its row in transitions.py).
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5.. the state indexes, then QUEUE)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  queue name
-- ARGV[6]  the queue entry read (qmember() in _lib.lua)
-- ARGV[7]  lease, ms ('' = none)
-- ARGV[8]  maximum run time, ms ('' = none)
-- ARGV[9]  target state (running)     ARGV[10] allowed source states
-- Returns {'popped', record, next, now}  the job, now running (whole
--                                 record, data included); the entry is gone
--         {'taken', next, now}    the entry is no longer in the queue
--                                 (another worker took it)
--         {'early', next, now}    the entry is not ready yet
--         {'dropped', next, now}  the entry was removed without starting a
--                                 job: its record expired (or expires this
--                                 very ms), is malformed, is no longer
--                                 waiting, or has another `ready` time (the
--                                 entry is stale)
--         where next is the queue's first entry now ('' if it is empty) and
--         now Redis' time (ms), so the caller knows whether next is ready.
--         A replay of a pop that took effect answers {'popped', record, '', now}.
local queue, member = ARGV[5], ARGV[6]
local function first()
  local e = redis.call('ZRANGEBYLEX', QUEUE, '[' .. queue .. '\0', '(' .. queue .. '\1', 'LIMIT', 0, 1)
  return e[1] or ''
end
local now = now_ms()
if redis.call('ZSCORE', QUEUE, member) == false then
  if TOKEN ~= '' and redis.call('HGET', JOB, 'token') == TOKEN then return {'popped', snapshot(true), '', now} end
  return {'taken', first(), now}
end
local h = head()
local ready = tonumber(string.sub(member, #queue + 2, #queue + 16))
if h.state and not malformed(h) and h.state == 'waiting' and ready and ready > now then
  return {'early', first(), now}
end
-- the entry must be the job's current one: a job started by hand and put
-- back by a retry has a newer entry, and this older one must not start it early
if not h.state or malformed(h) or h.state ~= 'waiting' or tonumber(h.expires) <= now
  or tonumber(redis.call('HGET', JOB, 'ready') or '') ~= ready then
  redis.call('ZREM', QUEUE, member)  -- a dead entry: the job can never be popped
  return {'dropped', first(), now}
end
local fields = {'token', TOKEN}
local due = start_fields(fields, tonumber(ARGV[7] or ''), tonumber(ARGV[8] or ''), now)
local expires = tonumber(h.expires)
redis.call('ZREM', QUEUE, member)
redis.call('HDEL', JOB, 'ready')
move('waiting', ARGV[9], now, fields, expires, false, nil, false)
if due then
  redis.call('ZADD', DUE, due, ID)
  keep_until(DUE, expires + TOMB_TTL, now)
end
emit(ARGV[9], now)
return {'popped', snapshot(true), first(), now}
