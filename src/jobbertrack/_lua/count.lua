--! flags: no-writes
--! include: _states
--! keys: layout
-- count: how many live jobs of one shard are in each state.
-- KEYS: the shard layout of _states.lua (1 untouched, 2 due, 6.. the state
--       indexes)
-- ARGV: none
-- Returns one count per state, in the order of STATES (the table's order:
-- waiting, running, failed, finished).  An index entry scores its record's
-- expiry, so entries of expired records (score < now) are never counted,
-- even before any cleanup removed them.  A running job past its lease or
-- maximum run time (its `due` score <= now) counts as failed, as any read
-- of it would settle it (the move outside the table), without writing here.
-- O(log N) per index, plus one lookup per overdue job not yet settled.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out, at = {}, {}
for i, state in ipairs(STATES) do
  out[i] = redis.call('ZCOUNT', KEYS[IDX[state]], now, '+inf')
  at[state] = i
end
local overdue = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DUE, '-inf', now)) do
  local expires = redis.call('ZSCORE', KEYS[IDX[SETTLE_FROM]], id)
  expires = expires and tonumber(expires)
  if expires and expires >= now then overdue = overdue + 1 end
end
out[at[SETTLE_FROM]], out[at[SETTLE_TO]] = out[at[SETTLE_FROM]] - overdue, out[at[SETTLE_TO]] + overdue
return out
