--! flags: no-writes
--! include: _states _lib
--! keys: layout
-- children: a page of a group's live children, newest first: the entries
-- of `<prefix>ingroup:<group id>` (score 0, member `<created ms, 15
-- digits> NUL <id>`, see _groups.lua) read from the newest, each checked
-- against its record (live, and in the state asked for).
-- KEYS: the job layout of _states.lua (1 the group's record, ...)
-- ARGV[1..4]: group id, token (unused), event cap, tombstone lifetime ms
-- ARGV[5]  the state the children must be in ('' = any)
-- ARGV[6]  how many ids to return at most
-- ARGV[7]  the entry to continue after ('' = from the newest)
-- ARGV[8]  how many entries to read at most (the page may come back short)
-- Returns {ids, last}: the ids found, and the last entry read ('' when
-- the index is exhausted: no more pages).
local state, want, after, budget = ARGV[5], tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
local key = PREFIX .. 'ingroup:' .. ID
local now = now_ms()
local ids, read, from, last = {}, 0, after == '' and '+' or '(' .. after, ''
while #ids < want and read < budget do
  local chunk = math.min(budget - read, math.max(2 * (want - #ids), 16))
  local entries = redis.call('ZREVRANGEBYLEX', key, from, '-', 'LIMIT', 0, chunk)
  for _, entry in ipairs(entries) do
    local id = string.match(entry, '^%d+%z(.*)$')
    if id then
      local f = redis.call('HMGET', PREFIX .. 'job:' .. id, 'state', 'expires')
      if f[1] and (state == '' or f[1] == state) and (tonumber(f[2] or '') or 0) > now then ids[#ids + 1] = id end
    end
    read, last = read + 1, entry
    if #ids >= want then break end
  end
  if #entries < chunk and #ids < want then return {ids, ''} end
  from = '(' .. last
end
return {ids, last}
