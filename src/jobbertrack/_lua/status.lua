-- status: a job's state, or 'expired' (a tombstone or a stale index entry
-- remembers it), or 'unknown'.  A running job past its lease or maximum
-- run time is failed first, as in `get`.
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5.. the state indexes)
-- ARGV[1..4]: id, '', event cap, tombstone lifetime ms
-- Returns the state, 'expired' or 'unknown'.
local state = redis.call('HGET', JOB, 'state')
if state then return settle(state, now_ms()) end
if missing()[1] == 'expired' then return 'expired' end
return 'unknown'
