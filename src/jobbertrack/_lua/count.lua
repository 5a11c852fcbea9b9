-- count: how many live jobs of one shard are in each state.
-- KEYS: the shard layout (KEYS[1] untouched; 2-5 the state indexes)
-- ARGV: none
-- Returns {waiting, running, failed, finished}.  An index entry scores its
-- record's expiry, so entries of expired records (score < now) are never
-- counted, even before any cleanup removed them.  A running job past its
-- lease or maximum run time (its `due` score <= now) counts as failed, as
-- any read of it would settle it, without writing here (read-only).
-- O(log N) per index, plus one lookup per overdue job not yet settled.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 2, 5 do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[i], now, '+inf')
end
local overdue = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now)) do
  local expires = redis.call('ZSCORE', KEYS[3], id)
  if expires and tonumber(expires) >= now then overdue = overdue + 1 end
end
out[2], out[3] = out[2] - overdue, out[3] + overdue
return out
