--! flags:
--! include: _states _lib _groups
--! keys: layout
-- delete: remove one job for good, in one step: its record, its state
-- index entry, its `due` entry and its queue entry.  A tombstone remembers
-- it as deleted (a score of ms + 0.5: remembered() in _lib.lua) for the
-- tombstone lifetime, so `status` says 'deleted' and a worker's later call
-- is refused as for a job that is gone.  Writes no event (an event names a
-- state; a deleted job has none).
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5 queue, 6.. the state indexes)
-- ARGV[1..4]: id, '', event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  the state the job must be in ('' or left out: any; `clean`)
-- ARGV[6]  ms: the job must have ended at least this long ago ('' or left
--          out: no condition; `clean`)
-- ARGV[7]  tombstones kept per shard
-- More ARGV are refused with an error reply, before anything is read.
-- Returns {'ok'}                the job is gone
--         {'bad', state}        it is not in ARGV[5]'s state, or did not end
--                               long enough ago: nothing written
--         {'expired'} | {'deleted'} | {'gone'}  no record (missing())
-- A malformed record is deleted too (when no condition is given): deleting
-- is how an operator gets rid of one.
if #ARGV > 7 then return redis.error_reply('ERR delete: ARGV stop at 7') end
local want, age, cap = ARGV[5] or '', tonumber(ARGV[6] or ''), tonumber(ARGV[7] or '') or 256
local h = head()
if not h.state and redis.call('EXISTS', JOB) == 0 then return missing() end
local now = now_ms()
if want ~= '' or age then
  if malformed(h) then return {'bad', h.state or ''} end
  local state = settle(h, now)
  local ended = tonumber(redis.call('HGET', JOB, 'ended') or '')
  if (want ~= '' and state ~= want) or (age and not (ended and ended <= now - age)) then
    return {'bad', state}
  end
end
for _, state in ipairs(STATES) do redis.call('ZREM', KEYS[IDX[state]], ID) end
unindex(ID, KNOWN[h.state or ''] and h.state or nil, now, true)
if h.kind == GROUP_KIND then group_drop(ID) end
redis.call('ZREM', DUE, ID)
if h.queue and is_ms(h.ready or '') and is_ms(h.expires or '') then
  redis.call('ZREM', QUEUE, qmember(h.queue, tonumber(h.ready), tonumber(h.expires), ID, qpriority(h.priority)))
end
if h.queue and is_ms(h.expires or '') then redis.call('ZREM', QUEUE, rmember(h.queue, tonumber(h.expires), ID)) end
redis.call('DEL', JOB)
redis.call('ZADD', TOMB, now + 0.5, ID)
redis.call('ZREMRANGEBYRANK', TOMB, 0, -(cap + 1))
keep_until(TOMB, now + TOMB_TTL, now)
return {'ok'}
