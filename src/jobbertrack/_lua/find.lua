--! flags: no-writes
--! include: _states _lib _groups
--! keys: layout
-- find: a shard's live jobs that match a filter, in listing order, read
-- from the finding index that holds the fewest candidates (docs/data-model.md,
-- "Finding jobs").
-- KEYS: the shard layout of _states.lua (1 the shard's job-key prefix,
--       untouched; 2 due, 3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1..4]: '', '', '', '' (see _lib.lua; unused)
-- ARGV[5]  the states, space separated ('' = every state)
-- ARGV[6]  order: 'created' (score: the creation time) or 'expires' (score:
--          the record's expiry, the state indexes' own order); 'count':
--          as 'created', but a running job past its lease or run time is
--          found failed only, not also running (see below)
-- ARGV[7]  matches wanted: the scan stops once it has this many
-- ARGV[8]  budget: the scan stops once it has looked at about this many
--          entries (split between the keys read)
-- ARGV[9]  top: read entries after (top, top id) in listing order, i.e.
--          scoring below the top or scoring it with a lower id ('' = from
--          the first)
-- ARGV[10] top id ('' = every entry scoring the top is passed over)
-- ARGV[11] created from, ms (inclusive; '' = no bound)
-- ARGV[12] created before, ms (exclusive; '' = no bound)
-- ARGV[13] queue ('' = any)
-- ARGV[14] name prefix ('' = any)
-- ARGV[15..] tags: a job must have every one
-- Returns {matches, reached}: `matches` a flat id, score list (in no
-- order); `reached` a flat score, id list: for each key read that has more,
-- the last entry looked at (the caller goes on below the highest of them,
-- in listing order: score, then id bytes); empty when the shard has nothing
-- more to read.
-- A running job past its lease or maximum run time is failed for the
-- filter (count.lua counts it so; the read that follows settles it), and
-- still running too, as list.lua lists it: the caller drops it there once
-- its read says failed, and keeps it when its record is too malformed to
-- be settled.
-- Cost: O(log N) per candidate index, then O(entries looked at), at most
-- about the budget; by name, O(jobs whose name has the prefix), only when
-- they are at most the budget.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wanted, every = {}, ARGV[5] == ''
for state in string.gmatch(ARGV[5], '%S+') do
  if not IDX[state] then return redis.error_reply('ERR find: no state ' .. state) end
  wanted[state] = true
end
if every then for _, s in ipairs(STATES) do wanted[s] = true end end
local by_created, counting = ARGV[6] ~= 'expires', ARGV[6] == 'count'
if by_created and not counting and ARGV[6] ~= 'created' then return redis.error_reply('ERR find: no order ' .. ARGV[6]) end
local want, budget = tonumber(ARGV[7]), tonumber(ARGV[8])
local top = tonumber(ARGV[9])
local from, before = tonumber(ARGV[11]), tonumber(ARGV[12])
local queue, prefix = ARGV[13] ~= '' and ARGV[13] or nil, ARGV[14] ~= '' and ARGV[14] or nil
local tags = {}
for i = 15, #ARGV do tags[#tags + 1] = ARGV[i] end

-- the score range every match lies in: [min, max], below the top
local max, min
if by_created then
  max, min = before and before - 1 or nil, from
else
  max, min = nil, math.max(now, from or now)  -- created >= from implies expires >= from
end
local top_id = ARGV[10]
local lo = min and string.format('%d', min) or '-inf'
local hi = max
if top and (not hi or top < hi) then hi = top end
hi = hi and string.format('%d', hi) or '+inf'  -- for counting the candidates

local function overdue(id)
  local due = redis.call('ZSCORE', DUE, id)
  return due and tonumber(due) <= now
end

-- whether job `id` matches; its score in this order when it does
local function check(id, skip_tag)
  local f = redis.call('HMGET', PREFIX .. 'job:' .. id, 'state', 'expires', 'created', 'queue', 'name')
  local expires, created = tonumber(f[2] or ''), tonumber(f[3] or '')
  if not IDX[f[1] or ''] or not expires or not created then
    -- a malformed record is listed as broken where its index entries put it
    -- (the reader shows its problems), as list.lua lists it
    if redis.call('EXISTS', PREFIX .. 'job:' .. id) == 0 then return nil end
    local state
    for _, s in ipairs(STATES) do
      local at = redis.call('ZSCORE', KEYS[IDX[s]], id)
      if at then state, expires = s, expires or tonumber(at) end
    end
    created = created or tonumber(redis.call('ZSCORE', BY_CREATED, id) or '')
    if not state or not expires or not created then return nil end
    f[1] = IDX[f[1] or ''] and f[1] or state
  end
  if expires <= now then return nil end
  if not wanted[f[1]] then
    if not (f[1] == SETTLE_FROM and wanted[SETTLE_TO] and overdue(id)) then return nil end
  elseif counting and f[1] == SETTLE_FROM and overdue(id) then
    return nil  -- counted failed only (a listing keeps it under running too: its read says)
  end
  if (from and created < from) or (before and created >= before) then return nil end
  if queue and f[4] ~= queue then return nil end
  if prefix and (not f[5] or string.sub(f[5], 1, #prefix) ~= prefix) then return nil end
  for _, tag in ipairs(tags) do
    if tag ~= skip_tag and not redis.call('ZSCORE', tag_key(tag), id) then return nil end
  end
  local score = by_created and created or expires
  if score > (max or score) or score < (min or score) or (top and score > top) then return nil end
  return score
end

-- Look at job `id` once (`skip_tag`: the tag whose index it was read from);
-- true when it is a new match.
local matches, seen = {}, {}
local function take(id, skip_tag)
  if seen[id] then return false end
  seen[id] = true
  local score = check(id, skip_tag)
  if not score then return false end
  matches[#matches + 1] = id
  matches[#matches + 1] = string.format('%d', score)
  return true
end

-- The candidate indexes (each a list of keys read together) and how many
-- entries of the range each holds; the scan reads the smallest.
local choices = {}
local function consider(keys, size)
  choices[#choices + 1] = {keys = keys, size = size}
end
local function sized(keys)
  local n = 0
  for _, key in ipairs(keys) do n = n + redis.call('ZCOUNT', key, lo, hi) end
  return n
end
local state_keys = {}
if by_created then
  if every then
    state_keys = {BY_CREATED}
  else
    for state in pairs(wanted) do state_keys[#state_keys + 1] = created_key(state) end
  end
  for _, tag in ipairs(tags) do
    consider({tag_key(tag)}, sized({tag_key(tag)}))
    choices[#choices].tag = tag
  end
  if queue then consider({inqueue_key(queue)}, sized({inqueue_key(queue)})) end
  -- the longest segment the prefix holds (`job-7-` of `job-7-1`): its index
  -- holds every job whose name has the prefix, and the fewest others
  local segments = prefix and name_segments(prefix) or {}
  local segment = segments[#segments]
  if segment then consider({segment_key(segment)}, sized({segment_key(segment)})) end
else
  for state in pairs(wanted) do state_keys[#state_keys + 1] = KEYS[IDX[state]] end
end
consider(state_keys, sized(state_keys))
local best = choices[1]
for _, c in ipairs(choices) do
  if c.size < best.size then best = c end
end
local by_name = prefix and redis.call('ZLEXCOUNT', NAMES, '[' .. prefix, '(' .. prefix .. '\255')
if by_name and by_name < best.size and by_name <= budget then
  -- every job whose name starts with the prefix, in name order: all of them
  -- (a prefix of more names than the budget is checked on the other index)
  for _, member in ipairs(redis.call('ZRANGEBYLEX', NAMES, '[' .. prefix, '(' .. prefix .. '\255')) do
    take(string.match(member, '^.*%z(.*)$'))
  end
  return {matches, {}}
end

-- The overdue running jobs listed as failed: few, read whole (count.lua).
if wanted[SETTLE_TO] and not wanted[SETTLE_FROM] then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', DUE, '-inf', now)) do take(id) end
end

-- Whether string `a` sorts before `b` byte by byte, as Redis orders the
-- members of one score (Lua's own `<` follows the server's locale).
local function bytes_less(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- Where to start reading `key`: the ZREVRANGEBYSCORE upper bound and how
-- many entries scoring exactly it to pass over.  Below (top, top id): at the
-- top id's rank when the key holds it; else every entry scoring the top is
-- read (the caller keeps those after its id).
local function start(key)
  if top and (not max or top <= max) then
    if top_id == '' then return '(' .. ARGV[9], 0 end
    local above = redis.call('ZCOUNT', key, '(' .. ARGV[9], '+inf')
    local rank = redis.call('ZREVRANK', key, top_id)
    if rank and tonumber(redis.call('ZSCORE', key, top_id)) == top then return ARGV[9], rank + 1 - above end
    -- the id is not here: find the first entry of its score after it, by
    -- halving the entries of that score (they run in descending id bytes)
    local low, high = 0, redis.call('ZCOUNT', key, ARGV[9], ARGV[9])
    while low < high do
      local mid = math.floor((low + high) / 2)
      if bytes_less(redis.call('ZREVRANGE', key, above + mid, above + mid)[1], top_id) then
        high = mid
      else
        low = mid + 1
      end
    end
    return ARGV[9], low
  end
  return max and string.format('%d', max) or '+inf', 0
end

-- Read `key` from the top down, a chunk at a time (sized by the matches
-- still wanted), until `want` matches or `each` entries looked at; return
-- the score and id of the last entry looked at, or nil when the key has no
-- more in the range.
local function scan(key, each, skip_tag)
  local upper, skip = start(key)
  local looked, found = 0, 0
  while true do
    local size = math.min(200, math.max(16, 2 * (want - found)))
    local chunk = redis.call('ZREVRANGEBYSCORE', key, upper, lo, 'WITHSCORES', 'LIMIT', skip, size)
    local n = #chunk / 2
    for i = 1, n do
      if take(chunk[2 * i - 1], skip_tag) then found = found + 1 end
      looked = looked + 1
      if found >= want or looked >= each then return chunk[2 * i], chunk[2 * i - 1] end
    end
    if n < size then return nil end
    local last, tail = chunk[2 * n], 0
    for i = n, 1, -1 do
      if chunk[2 * i] ~= last then break end
      tail = tail + 1
    end
    if tail == n and upper == last then skip = skip + n else upper, skip = last, tail end
  end
end

local reached = {}
local each = math.max(1, math.floor(budget / #best.keys))
for _, key in ipairs(best.keys) do
  local score, id = scan(key, each, best.tag)
  if score then
    reached[#reached + 1] = score
    reached[#reached + 1] = id
  end
end
return {matches, reached}
