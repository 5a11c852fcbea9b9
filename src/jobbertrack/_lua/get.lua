--! flags: allow-oom
--! include: _states _lib _groups
--! keys: layout
-- get: read one job, first failing it if its lease or maximum run time has
-- run out (so a reader never sees a dead worker's job as running).
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5 queue, 6.. the state indexes)
-- ARGV[1..4]: id, token (unused), event cap, tombstone lifetime ms
-- Returns {'ok', fields...} (flat HGETALL, data and result included) | {'gone'}
--         | {'corrupt', field}: a field it relies on is malformed (see
--         malformed() in _lib.lua); nothing read further, nothing written
local h, reply = checked_head(false)
if not h then return reply end
local now = now_ms()
settle(h, now)
if h.kind == GROUP_KIND then group_settle(ID, now, 1000) end
return {'ok', snapshot(true)}
