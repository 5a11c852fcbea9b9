-- count: how many live jobs of one shard are in each state.
-- KEYS: the shard layout (KEYS[1] untouched; 2-5 the state indexes)
-- ARGV: none
-- Returns {waiting, running, failed, finished}.  An index entry scores its
-- record's expiry, so entries of expired records (score < now) are never
-- counted, even before any cleanup removed them.  O(log N) per index.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 2, 5 do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[i], now, '+inf')
end
return out
