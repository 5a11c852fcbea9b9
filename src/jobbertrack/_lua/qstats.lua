--! flags: no-writes
--! include: _states
--! keys: layout
-- qstats: one queue's numbers in one shard, without reading a job (issue 23).
-- Read-only; O(log n) in the shard's entries.
-- KEYS: the shard layout of _states.lua (1 the shard's job-key prefix,
--       untouched; 2 due, 3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1]  queue name
-- Returns {now ms, ready, delayed, running, oldest ready ms or '', paused 0|1}:
-- ready and delayed count the queue's waiting entries whose ready time has
-- come or not (an entry whose job expired while it waited counts until a pop
-- drops it); running counts the running entries whose job has not expired;
-- the oldest ready time is that of the first ready entry whose job is live
-- (the first 16 entries are looked at); paused is 1 when the shard holds the
-- queue's pause marker.  qmember, rmember and pmember in _lib.lua.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local q = ARGV[1]
local after = string.format('%015d', now + 1)
local waiting = redis.call('ZLEXCOUNT', QUEUE, '[' .. q .. '\0', '(' .. q .. '\1')
local ready = redis.call('ZLEXCOUNT', QUEUE, '[' .. q .. '\0', '(' .. q .. '\0' .. after)
local running = redis.call('ZLEXCOUNT', QUEUE, '[' .. q .. '\1' .. after, '(' .. q .. '\2')
local oldest = ''
if ready > 0 then
  local from = #q + 18
  for _, m in ipairs(redis.call('ZRANGEBYLEX', QUEUE, '[' .. q .. '\0', '(' .. q .. '\0' .. after, 'LIMIT', 0, 16)) do
    if tonumber(string.sub(m, from, from + 14)) > now then
      oldest = tonumber(string.sub(m, #q + 2, #q + 16))
      break
    end
  end
end
local paused = redis.call('ZSCORE', QUEUE, '\2' .. q) and 1 or 0
return {now, ready, waiting - ready, running, oldest, paused}
