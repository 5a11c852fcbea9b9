--! flags: no-writes
--! include: _states _lib _groups
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
-- the oldest ready time is that of the oldest ready entry whose job is live
-- (the first 16 ready entries of each priority are looked at); paused is 1
-- when the shard holds the queue's pause marker.  qmember, rmember and
-- pmember in _lib.lua.  One walk over the priority levels (O(levels * log n)).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local q = ARGV[1]
local after = string.format('%015d', now + 1)
local waiting = redis.call('ZLEXCOUNT', QUEUE, '[' .. q .. '\0', '(' .. q .. '\1')
local running = redis.call('ZLEXCOUNT', QUEUE, '[' .. q .. '\1' .. after, '(' .. q .. '\2')
local ready, oldest = 0, ''
local from = '[' .. q .. '\0'
while true do  -- one priority level a turn: its prefix is the entry up to its ready time
  local m = redis.call('ZRANGEBYLEX', QUEUE, from, '(' .. q .. '\1', 'LIMIT', 0, 1)[1]
  if not m then break end
  local at = qready_at(q, m)
  local level = string.sub(m, 1, at - 1)
  local low = at == #q + 2 and '[' .. level .. '0' or '[' .. level  -- priority 0: past the '!' levels
  local n = redis.call('ZLEXCOUNT', QUEUE, low, '(' .. level .. after)
  ready = ready + n
  if n > 0 then
    for _, e in ipairs(redis.call('ZRANGEBYLEX', QUEUE, low, '(' .. level .. after, 'LIMIT', 0, 16)) do
      local exp = tonumber(string.sub(e, at + 16, at + 30))
      if exp and exp > now then
        local r = tonumber(string.sub(e, at, at + 14))
        if oldest == '' or r < oldest then oldest = r end
        break
      end
    end
  end
  local past = at == #q + 2 and '[' .. q .. '\0:' or '[' .. string.sub(m, 1, at - 2) .. '\1'
  if past == from then break end  -- an entry this version does not write: stop rather than loop
  from = past
end
local paused = redis.call('ZSCORE', QUEUE, '\2' .. q) and 1 or 0
return {now, ready, waiting - ready, running, oldest, paused}
