--! flags: no-writes
--! include: _states _lib _groups
--! keys: layout
-- tally: how many live jobs of one shard with one tag, or of one queue, are
-- in each state (docs/data-model.md, "Finding jobs").
-- KEYS: the shard layout of _states.lua (1 the shard's job-key prefix,
--       untouched; 2 due, 3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1..4]: '', '', '', '' (see _lib.lua; unused)
-- ARGV[5]  'tag' or 'queue'
-- ARGV[6]  the tag or the queue name
-- Returns one count per state, in the order of STATES, as count.lua: the
-- tally `tally:<kind>:<value>`, less the jobs it still counts whose record
-- expired and that no cleanup has removed yet (read from the state
-- indexes' expired entries and `meta`), with a running job past its lease
-- or maximum run time counted failed.
-- Cost: O(1) per state, plus one lookup per expired entry not yet cleaned
-- up (cleanup keeps those few) and per overdue job not yet settled.
local kind, value = ARGV[5], ARGV[6]
if kind ~= 'tag' and kind ~= 'queue' then return redis.error_reply('ERR tally: no kind ' .. kind) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local counts = redis.call('HMGET', tally_key(kind, value), unpack(STATES))

-- whether the job `id` is of this tag or queue, by its `meta` entry
local function member(id)
  local raw = redis.call('HGET', META, id)
  if not raw then return false end
  local ok, meta = pcall(cjson.decode, raw)
  if not ok or type(meta) ~= 'table' then return false end
  if kind == 'queue' then return meta.q == value end
  if type(meta.t) ~= 'table' then return false end
  for _, tag in ipairs(meta.t) do
    if tag == value then return true end
  end
  return false
end

local out, at = {}, {}
for i, state in ipairs(STATES) do
  local n = tonumber(counts[i] or '') or 0
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[IDX[state]], '-inf', '(' .. now)) do
    if member(id) then n = n - 1 end
  end
  out[i], at[state] = math.max(n, 0), i
end
local overdue = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DUE, '-inf', now)) do
  local expires = redis.call('ZSCORE', KEYS[IDX[SETTLE_FROM]], id)
  expires = expires and tonumber(expires)
  if expires and expires >= now and member(id) then overdue = overdue + 1 end
end
out[at[SETTLE_FROM]], out[at[SETTLE_TO]] = out[at[SETTLE_FROM]] - overdue, out[at[SETTLE_TO]] + overdue
return out
