--! flags:
--! include: _states _lib _groups
--! keys: layout
-- pop: take one entry of a work queue and start its job, in one step (issue
-- 14).  The caller read the entry first (peek.lua): a script may touch only
-- the keys it is given, so it names the job.  The move is the table's
-- `start` (MOVES.start in _states.lua).
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5 queue, 6.. the state indexes)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  queue name
-- ARGV[6]  the queue entry read (qmember() in _lib.lua)
-- ARGV[7]  lease, ms ('' = none)
-- ARGV[8]  maximum run time, ms ('' = none)
-- More ARGV are refused with an error reply, before anything is read.
-- Returns {'popped', record, next, now}  the job, now running (whole
--                                 record, data and result included); the entry is gone
--         where the queue's `next` entry is the one qfirst() (in _lib.lua)
--         picks: highest priority, then oldest ready time
--         {'instead', record, entry, next, now}
--                                 the entry is no longer in the queue
--                                 (another worker took it), so the pop took
--                                 the shard's first ready `entry` instead
--                                 (its job, now running: as 'popped'); a
--                                 lost race costs no second script
--         {'taken', next, now}    the entry is no longer in the queue and
--                                 the shard has no ready entry (or the
--                                 queue is paused): nothing written
--         {'paused', '', now}     the queue is paused (pause.lua): nothing written
--         {'early', next, now}    the entry is not ready yet
--         {'dropped', next, now}  the entry was removed without starting a
--                                 job: its record expired (or expires this
--                                 very ms), is malformed, is no longer
--                                 waiting, or has another `ready` time (the
--                                 entry is stale)
--         where next is the queue's first entry now ('' if it is empty) and
--         now Redis' time (ms), so the caller knows whether next is ready.
--         A replay of a pop that took effect answers {'popped', record, '', now},
--         or {'instead', record, entry, '', now}: the job an 'instead' pop
--         started is kept under `popped:<token>` in the shard for a minute.
if #ARGV > 8 then return redis.error_reply('ERR pop: ARGV stop at 8') end
local START_TO, START_FROM = move_row('start')
local queue, member = ARGV[5], ARGV[6]
local now = now_ms()
local function first()
  return qfirst(queue, now)
end
local INSTEAD_KEY, INSTEAD_MS = PREFIX .. 'popped:' .. TOKEN, 60000
local instead = false
-- Act on job `id` of this shard from here on (JOB and ID are _lib.lua's).
local function become(id)
  ID, JOB = id, PREFIX .. 'job:' .. id
end
if redis.call('ZSCORE', QUEUE, member) == false then
  if TOKEN ~= '' then
    if redis.call('HGET', JOB, 'token') == TOKEN then return {'popped', snapshot(true), '', now} end
    local took = redis.call('GET', INSTEAD_KEY)
    if took then
      local entry = string.match(took, '^[^\n]*\n(.*)$')
      become(string.match(took, '^[^\n]*'))
      if redis.call('HGET', JOB, 'token') == TOKEN then return {'instead', snapshot(true), entry, '', now} end
      return {'taken', first(), now}
    end
  end
  -- another worker took it: take the shard's first entry when it is ready
  local nxt = first()
  if nxt == '' then return {'taken', nxt, now} end
  local at = qready_at(queue, nxt)
  local ready = tonumber(string.sub(nxt, at, at + 14))
  if not ready or ready > now or TOKEN == '' then return {'taken', nxt, now} end
  member, instead = nxt, true
  become(string.sub(nxt, at + 32))
end
if redis.call('ZSCORE', QUEUE, pmember(queue)) then return {'paused', '', now} end
local h = head()
local at = qready_at(queue, member)
local ready = tonumber(string.sub(member, at, at + 14))
if h.state and not malformed(h) and in_set(START_FROM, h.state) and ready and ready > now then
  return {'early', first(), now}
end
-- the entry must be the job's current one: a job started by hand and put
-- back by a retry has a newer entry, and this older one must not start it early
if not h.state or malformed(h) or not in_set(START_FROM, h.state) or tonumber(h.expires) <= now
  or tonumber(h.ready or '') ~= ready or string.sub(member, #queue + 2, at - 1) ~= qlevel(qpriority(h.priority)) then
  redis.call('ZREM', QUEUE, member)  -- a dead entry: the job can never be popped
  return {'dropped', first(), now}
end
local fields = {'token', TOKEN}
local due = start_fields(fields, tonumber(ARGV[7] or ''), tonumber(ARGV[8] or ''), now)
local expires = tonumber(h.expires)
redis.call('ZREM', QUEUE, member)
redis.call('HDEL', JOB, 'ready')
move(h, START_TO, now, fields, {dequeued = true})
if due then
  redis.call('ZADD', DUE, due, ID)
  keep_until(DUE, expires + TOMB_TTL, now)
end
emit(START_TO, now)
if instead then
  redis.call('SET', INSTEAD_KEY, ID .. '\n' .. member, 'PX', INSTEAD_MS)
  return {'instead', snapshot(true), member, first(), now}
end
return {'popped', snapshot(true), first(), now}
