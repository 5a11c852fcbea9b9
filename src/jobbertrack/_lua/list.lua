-- list: one page of a shard's live jobs, latest expiry first.
-- KEYS: the shard layout (KEYS[1] untouched; 2-5 the state indexes)
-- ARGV[1]  state indexes to read, e.g. '2 3 4 5' (KEYS positions)
-- ARGV[2]  page size
-- ARGV[3]  cursor score: '' for the first page, else the score of the last
--          job of the previous page (entries with a lower score follow)
-- Returns {index_pos, ties, page} per index read: `ties` are all live ids
-- scoring exactly the cursor score (the caller keeps those after the
-- cursor id in byte order), `page` is a flat id, score list below it.
-- Cost: O(log N + page size + ties) per index.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[2])
local out = {}
for pos in string.gmatch(ARGV[1], '%d+') do
  local key = KEYS[tonumber(pos)]
  local ties, page = {}, nil
  if ARGV[3] == '' then
    page = redis.call('ZREVRANGEBYSCORE', key, '+inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
  else
    local top = tonumber(ARGV[3])
    if top >= now then
      ties = redis.call('ZRANGEBYSCORE', key, top, top)
    end
    page = redis.call('ZREVRANGEBYSCORE', key, '(' .. ARGV[3], now, 'WITHSCORES', 'LIMIT', 0, limit)
  end
  out[#out + 1] = {tonumber(pos), ties, page}
end
return out
