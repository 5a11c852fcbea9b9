--! flags: allow-oom
--! include: _states _lib _groups
--! keys: layout
-- status: a job's state, or 'expired' (a tombstone or a stale index entry
-- remembers it), 'deleted' (a tombstone of delete.lua), or 'unknown'.  A running job past its lease or maximum
-- run time is failed first, as in `get`.
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5 queue, 6.. the state indexes)
-- ARGV[1..4]: id, '', event cap, tombstone lifetime ms
-- Returns the state, 'expired', 'deleted' or 'unknown', or {'corrupt', field} when a
-- field it relies on is malformed (a record without a state included:
-- malformed() in _lib.lua), writing nothing.
local now = now_ms()
local h, reply = checked_head(true, now)
if h then return settle(h, now) end
if reply[1] == 'corrupt' then return reply end
if reply[1] == 'expired' or reply[1] == 'deleted' then return reply[1] end
return 'unknown'
