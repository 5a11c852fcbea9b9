--! flags:
--! include: _states
--! keys: layout
-- resume: let one queue's pops go on in one shard (issue 23); a client runs
-- it on every shard, then wakes the queue's blocked workers.
-- KEYS: the shard layout of _states.lua (1 the shard's job-key prefix,
--       untouched; 2 due, 3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1]  queue name
-- Removes the queue's pause marker.  When no other queue of the shard is
-- paused, QUEUE expires again: no later than the waiting and running
-- indexes (HOLDS), which outlive every job that can have an entry (a QUEUE left
-- with entries but no such index holds only dead entries, and goes).
-- Returns 1 if the queue was paused in this shard, else 0.
local removed = redis.call('ZREM', QUEUE, '\2' .. ARGV[1])
if removed == 1 and not redis.call('ZRANGEBYLEX', QUEUE, '[\2', '(\3', 'LIMIT', 0, 1)[1] then
  local left = -2
  for _, state in ipairs(STATES) do
    if HOLDS[state] then  -- waiting and running: the states whose jobs can have entries
      left = math.max(left, redis.call('PTTL', KEYS[IDX[state]]))
    end
  end
  if left > 0 then
    redis.call('PEXPIRE', QUEUE, left)
  else
    redis.call('DEL', QUEUE)
  end
end
return removed
