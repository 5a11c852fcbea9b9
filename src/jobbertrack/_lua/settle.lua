-- settle: apply the stall and maximum-run-time rules to one job.
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5.. the state indexes)
-- ARGV[1..4]: id, '' , event cap, tombstone lifetime ms
-- Returns 1 if this call failed the job, else 0.  A `due` entry whose
-- record is gone is dropped.
local state = redis.call('HGET', JOB, 'state')
if not state then
  redis.call('ZREM', DUE, ID)
  return 0
end
if state == 'running' and settle(state, now_ms()) == 'failed' then return 1 end
return 0
