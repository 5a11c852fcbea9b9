--! flags: no-writes
--! include: _states _lib _groups
--! keys: layout
-- queued: how many live jobs wait on a queue in one shard.
-- Read-only; O(entries of the queue in the shard).
-- KEYS: the shard layout of _states.lua (1 the shard's job-key prefix,
--       untouched; 2 due, 3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1]  queue name
-- Returns the number of the queue's entries whose record has not expired
-- (its expiry is in the entry: qmember() in _lib.lua), delayed ones included.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local queue = ARGV[1]
local n = 0
for _, m in ipairs(redis.call('ZRANGEBYLEX', QUEUE, '[' .. queue .. '\0', '(' .. queue .. '\1')) do
  local from = qready_at(queue, m) + 16
  if (tonumber(string.sub(m, from, from + 14)) or 0) > now then n = n + 1 end
end
return n
