--! flags:
--! include: _states _lib _groups
--! keys: layout
-- reindex: put one shard's jobs made before the finding indexes existed
-- (before 2026-12-05) into them, a batch at a time (docs/data-model.md,
-- "Finding jobs"); run by Handler.sweep() until it says done.
-- KEYS: the shard layout of _states.lua (1 the shard's job-key prefix,
--       untouched; 2 due, 3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1..4]: '', '', event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  batch: state index entries looked at per call
-- The shard's `indexed` key keeps where it got to: `<state number> <score>
-- <how many entries of that score were looked at> <the latest expiry of a
-- live job seen>` (for an hour), walking each state's index from its lowest
-- score (the soonest expiry) up; then `done` until that latest expiry (the
-- next calls return at once; after it, a call walks the shard again, passing
-- over what is indexed).  A job already in `created`
-- and `created:<state>` (made since) is passed over; one whose record is
-- gone or malformed too (cleanup and the readers deal with those).
-- Returns 1 when the shard is done, else 0 (call again).
local MARK = PREFIX .. 'indexed'
local at = redis.call('GET', MARK)
if at == 'done' then return 1 end
local n, score, skip = 1, '-inf', 0
local latest = 0  -- the latest expiry of a job looked at (kept in the progress)
if at then
  local a, b, c, d = string.match(at, '^(%d+) (%S+) (%d+) (%d+)$')
  if a then n, score, skip, latest = tonumber(a), b, tonumber(c), tonumber(d) end
end
local now = now_ms()
local left = tonumber(ARGV[5])
while n <= #STATES and left > 0 do
  local state = STATES[n]
  local page = redis.call('ZRANGEBYSCORE', KEYS[IDX[state]], score, '+inf', 'WITHSCORES', 'LIMIT', skip, left)
  for i = 1, #page, 2 do
    local id = page[i]
    local made, moved = redis.call('ZSCORE', BY_CREATED, id), redis.call('ZSCORE', created_key(state), id)
    if made and moved then
      local expires = tonumber(page[i + 1])
      if expires > latest then latest = expires end
    else
      ID = id
      local h = redis.call('HMGET', PREFIX .. 'job:' .. id, 'state', 'created', 'expires', 'queue', 'name', 'tags')
      local created, expires = tonumber(h[2] or ''), tonumber(h[3] or '')
      if expires and expires > latest then latest = expires end
      if h[1] == state and created and expires and expires > now then
        local group = {created = created, queue = h[4] or nil, tags = tags_of(h[6])}
        -- a job moved since the upgrade is in its state's index and tallies
        -- already (the move put it there), but in none of the others
        if not moved then index_move(nil, state, expires, now, group) end
        if not made then index_new(group, h[5] or nil, expires, now) end
      end
    end
    if page[i + 1] == score then skip = skip + 1 else score, skip = page[i + 1], 1 end
  end
  left = left - #page / 2
  if left > 0 then n, score, skip = n + 1, '-inf', 0 end  -- this state's index is through
end
if n > #STATES then
  -- every job made before now is indexed: the jobs made from now on are
  -- indexed by the scripts that make them, so the mark need only outlive
  -- the latest of those looked at (a shard without live jobs needs none)
  if latest > now then
    redis.call('SET', MARK, 'done', 'PX', latest - now)
  else
    redis.call('DEL', MARK)
  end
  return 1
end
redis.call('SET', MARK, n .. ' ' .. score .. ' ' .. skip .. ' ' .. latest, 'PX', 3600000)
return 0
