--! flags:
--! include: _states _lib _groups
--! keys: layout
-- settle: apply the stall and maximum-run-time rules to one job.
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5 queue, 6.. the state indexes)
-- ARGV[1..4]: id, '' , event cap, tombstone lifetime ms
-- Returns 1 if this call failed the job, else 0.  A `due` entry whose
-- record is gone is dropped.  {'corrupt', field} when a field it relies on
-- is malformed (malformed() in _lib.lua): nothing written, the job stays
-- where it is (sweep() logs it and goes on).
local now = now_ms()
local h, reply = checked_head(false, now)
if not h then
  if reply[1] == 'corrupt' then return reply end
  redis.call('ZREM', DUE, ID)
  return 0
end
if h.state == SETTLE_FROM and settle(h, now) == SETTLE_TO then return 1 end
return 0
