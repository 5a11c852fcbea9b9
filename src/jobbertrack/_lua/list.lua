-- list: one page of a shard's live jobs, latest expiry first.
-- KEYS: the shard layout of _states.lua (1 untouched, 5.. the state indexes)
-- ARGV[1]  the states to read, space separated, e.g. 'running failed'
--          (an unknown state is refused)
-- ARGV[2]  page size
-- ARGV[3]  cursor score: '' for the first page, else the score of the last
--          job of the previous page (entries with a lower score follow)
-- Returns {ties, page}: `ties` are all live ids scoring exactly the cursor
-- score (the caller keeps those after the cursor id, in byte order); `page`
-- is a flat id, score list of the shard's best `page size` entries below
-- the cursor, plus any entry tied with the last of them.  Ordering ties by
-- id is left to the caller (Lua's string order depends on the locale).
-- Cost: O(log N + page size + ties) per index.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[2])
local keys = {}
for state in string.gmatch(ARGV[1], '%S+') do
  if not IDX[state] then return redis.error_reply('ERR list: no state ' .. state) end
  keys[#keys + 1] = KEYS[IDX[state]]
end
local ties, found = {}, {}
for _, key in ipairs(keys) do
  local page
  if ARGV[3] == '' then
    page = redis.call('ZREVRANGEBYSCORE', key, '+inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
  else
    local top = tonumber(ARGV[3])
    if top >= now then
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', key, top, top)) do ties[#ties + 1] = id end
    end
    page = redis.call('ZREVRANGEBYSCORE', key, '(' .. ARGV[3], now, 'WITHSCORES', 'LIMIT', 0, limit)
  end
  for i = 1, #page, 2 do found[#found + 1] = {page[i], tonumber(page[i + 1])} end
end
local out = {}
if #found > 0 then
  local scores = {}
  for i, item in ipairs(found) do scores[i] = item[2] end
  table.sort(scores, function(a, b) return a > b end)
  local bound = scores[math.min(limit, #scores)]
  for _, item in ipairs(found) do
    if item[2] >= bound then
      out[#out + 1] = item[1]
      out[#out + 1] = string.format('%d', item[2])
    end
  end
end
return {ties, out}
