--! flags: no-writes
--! include: _states _lib _groups
--! keys: layout
-- peek: what a worker needs to know of one shard before it pops.
-- Read-only.
-- KEYS: the shard layout of _states.lua (1 the shard's job-key prefix,
--       untouched; 2 due, 3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1..4]: '', '', event cap, tombstone lifetime ms
-- ARGV[5]  queue name
-- ARGV[6]  at most this many due ids returned
-- Returns {now_ms, first, next_due, {due ids...}}: Redis' time; the queue's
-- first entry as a pop takes them (qfirst() in _lib.lua: highest priority,
-- then oldest ready; '' if none or the queue is paused; ready or not: its
-- ready time is in it); the
-- earliest lease or run-time deadline of the shard's running jobs ('' if
-- none); the running jobs already past theirs (the caller runs `settle` on
-- each: the stall rule, which puts a job with retries left back on its queue).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local queue = ARGV[5]
local e = {}
if not redis.call('ZSCORE', QUEUE, '\2' .. queue) then  -- a paused queue shows no entry (pmember in _lib.lua)
  e = {qfirst(queue, now)}
end
local d = redis.call('ZRANGE', DUE, 0, 0, 'WITHSCORES')
local due = redis.call('ZRANGEBYSCORE', DUE, '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))
return {now, e[1] or '', d[2] or '', due}
