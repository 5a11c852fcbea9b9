--! flags:
--! include: _states _lib _groups
--! keys: layout
-- group: read a group (the job ID, made by create with `kind` = 'group')
-- after counting its children that expired before they ended, and moving
-- it as its counts call for (see _groups.lua); or close it first.
-- KEYS: the job layout of _states.lua (1 the group's record, 2 due,
--       3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1..4]: id, token (unused), event cap, tombstone lifetime ms
-- ARGV[5]  'close': no child may join from now on; '' = read only
-- Returns {'ok', fields...}   the group's record (flat HGETALL, data included);
--                             {'ok', fields, queues} when it ended now and
--                             pushed its follow-up job on queues[1] (WOKE:
--                             the caller wakes that queue, and strips it)
--         {'nogroup', id}     the record is not a group's; nothing written
--         {'expired'} | {'gone'} | {'deleted'}: no record (see missing())
--         {'corrupt', field}  a field it relies on is malformed
if #ARGV > 5 or (ARGV[5] or '') ~= '' and ARGV[5] ~= 'close' then
  return redis.error_reply("ERR group: ARGV[5] is 'close' or '', and ARGV stop at 5")
end
local now = now_ms()
local h, reply = checked_head(true, now)
if not h then return reply end
if h.kind ~= GROUP_KIND then return {'nogroup', ID} end
if ARGV[5] == 'close' and redis.call('HEXISTS', JOB, 'closed') == 0 then
  redis.call('HSET', JOB, 'closed', now)
end
group_settle(ID, now, 1000)
if #WOKE > 0 then return {'ok', snapshot(true), WOKE} end  -- its follow-up job was pushed
return {'ok', snapshot(true)}
