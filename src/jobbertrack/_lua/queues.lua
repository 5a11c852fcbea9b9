--! flags: no-writes
--! include: _states
--! keys: layout
-- queues: the names of the queues one shard holds entries or a pause marker
-- of (issue 23).  Read-only; O(queues * log n): one lookup per name, each
-- starting after the previous name's entries.
-- KEYS: the shard layout of _states.lua (1 the shard's job-key prefix,
--       untouched; 2 due, 3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1]  at most this many names
-- Returns {{names with entries...}, {paused names...}}.  An entry is
-- queue NUL ... (waiting) or queue \1 ... (running); a pause marker is
-- \2 queue (qmember, rmember and pmember in _lib.lua).  A queue's name is
-- printable, so its entries sort after every marker and before the next name.
local cap = tonumber(ARGV[1])
local names, paused = {}, {}
local from = '(\3'
while #names < cap do
  local m = redis.call('ZRANGEBYLEX', QUEUE, from, '+', 'LIMIT', 0, 1)[1]
  if not m then break end
  local stop = string.find(m, '[%z\1]')
  if not stop then break end  -- not an entry this version writes
  local name = string.sub(m, 1, stop - 1)
  names[#names + 1] = name
  from = '[' .. name .. '\2'
end
for _, m in ipairs(redis.call('ZRANGEBYLEX', QUEUE, '[\2', '(\3', 'LIMIT', 0, cap)) do
  paused[#paused + 1] = string.sub(m, 2)
end
return {names, paused}
