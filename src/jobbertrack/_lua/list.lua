--! flags: no-writes
--! include: _states
--! keys: layout
-- list: one page of a shard's live jobs, latest expiry first.
-- KEYS: the shard layout of _states.lua (1 untouched, 2 due, 6.. the state
--       indexes)
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
-- A running job past its lease or maximum run time (its `due` score <=
-- now) is also listed when failed jobs are (and running ones are not), as
-- count.lua counts it failed and as the read that follows settles it.  It
-- stays in running's page too: the caller drops it there once its read
-- says failed, and keeps it there when its record is too malformed to be
-- settled (it is still running, in Redis).
-- Cost: O(log N + page size + ties) per index, plus one lookup per overdue
-- job not yet settled.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[2])
local top = ARGV[3] ~= '' and tonumber(ARGV[3]) or nil
local wanted = {}
for state in string.gmatch(ARGV[1], '%S+') do
  if not IDX[state] then return redis.error_reply('ERR list: no state ' .. state) end
  wanted[state] = true
end
local ties, found = {}, {}
for state in pairs(wanted) do
  local key = KEYS[IDX[state]]
  local page
  if not top then
    page = redis.call('ZREVRANGEBYSCORE', key, '+inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
  else
    if top >= now then
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', key, top, top)) do
        ties[#ties + 1] = id
      end
    end
    page = redis.call('ZREVRANGEBYSCORE', key, '(' .. ARGV[3], now, 'WITHSCORES', 'LIMIT', 0, limit)
  end
  for i = 1, #page, 2 do
    found[#found + 1] = {page[i], tonumber(page[i + 1])}
  end
end
if wanted[SETTLE_TO] and not wanted[SETTLE_FROM] then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', DUE, '-inf', now)) do
    local score = redis.call('ZSCORE', KEYS[IDX[SETTLE_FROM]], id)
    score = score and tonumber(score)
    if score and score >= now then
      if not top or score < top then
        found[#found + 1] = {id, score}
      elseif score == top then
        ties[#ties + 1] = id
      end
    end
  end
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
