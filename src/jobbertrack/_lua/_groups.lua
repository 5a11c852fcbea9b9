-- Groups (docs/data-model.md, "Groups"), sent after _lib.lua: the parts a
-- script uses, as for _lib.lua.  A group is a job record with `kind` =
-- 'group' in the shard its children live in, so every child's move keeps
-- its group's counts in the same script:
--   fields of the group's record: `n:<state>` its children in each state,
--     `n:total` all its children, `n:expired` those that expired before
--     they ended (counted as failed); `closed` once no child may join;
--     `then_queue`, `then_name`, `then_data` (JSON text), `then_id`: the
--     follow-up job pushed when the group ends, and `then_done` (ms) once it is;
--   `<prefix>open:<group id>`     zset: its children not ended, by expiry ms
--     (a read or a sweep counts the expired ones as failed);
--   `<prefix>ingroup:<group id>`  zset: its children, every entry scored 0,
--     the member `<created ms, 15 digits> NUL <id>` (ingroup_entry), so a
--     page goes on exactly after the last entry read (children.lua).
-- Its own state follows its children: waiting until one starts or ends,
-- running while one has not ended, and once closed with every child
-- ended: finished when all finished, else failed with error
-- {"reason": "children_failed", "failed": n, "cancelled": n}.  A child
-- retried after the group ended runs it again; the follow-up job is made
-- once.

local GROUP_KIND = 'group'
local G_RUNNING = string.match(MOVES.start, '^[^|]*')
local G_FINISHED = string.match(MOVES.finish, '^[^|]*')
local G_CANCELLED = string.match(MOVES.cancel, '^[^|]*')

local function group_key(gid) return PREFIX .. 'job:' .. gid end
local function open_key(gid) return PREFIX .. 'open:' .. gid end
local function ingroup_key(gid) return PREFIX .. 'ingroup:' .. gid end
local function ingroup_entry(created, id) return string.format('%015d', created) .. '\0' .. id end

-- Run `fn` as a script of the job `id` (JOB and ID are its own meanwhile):
-- a move of a group, or the follow-up job it makes, in a child's script.
local function as_job(id, fn)
  local job, was = JOB, ID
  JOB, ID = PREFIX .. 'job:' .. id, id
  fn()
  JOB, ID = job, was
end

-- The group whose record is `gjob`, read in one HMGET: {kind, state,
-- expires, closed, c = {state -> children, total, expired}}.  The field
-- list and G_ENDED (ENDED as a table: state -> true, for the lookups of a
-- child's every move, cheaper than in_set) are made at the first read of
-- a script, not by every script that includes this file.
local G_READ, G_ENDED = nil, nil
local function group_read(gjob)
  if not G_READ then
    G_READ, G_ENDED = {'kind', 'state', 'expires', 'closed', 'n:total', 'n:expired'}, {}
    for _, state in ipairs(STATES) do G_READ[#G_READ + 1] = 'n:' .. state end
    for state in string.gmatch(ENDED, '%S+') do G_ENDED[state] = true end
  end
  local got = redis.call('HMGET', gjob, unpack(G_READ))
  local c = {total = tonumber(got[5] or '') or 0, expired = tonumber(got[6] or '') or 0}
  for i, state in ipairs(STATES) do c[state] = tonumber(got[6 + i] or '') or 0 end
  return {kind = got[1], state = got[2], expires = tonumber(got[3] or ''), closed = got[4] ~= false, c = c}
end

-- Write the counts of group `g` named in `changed` (a list of count names).
local function group_write(gjob, g, changed)
  local sets = {}
  for _, name in ipairs(changed) do
    sets[#sets + 1] = 'n:' .. name
    sets[#sets + 1] = g.c[name]
  end
  redis.call('HSET', gjob, unpack(sets))
end

-- The state group `g`'s counts call for (see the top), or nil for no move.
local function group_target(g)
  local c, ended = g.c, 0
  for _, state in ipairs(STATES) do
    if G_ENDED[state] then ended = ended + c[state] end
  end
  local target
  if g.closed and ended >= c.total then
    target = c[G_FINISHED] >= c.total and G_FINISHED or SETTLE_TO
  elseif ended > 0 or c[G_RUNNING] > 0 then
    target = G_RUNNING
  end
  if not target or target == g.state or (G_ENDED[g.state] and G_ENDED[target]) then return nil end
  return target
end

-- The counts as the JSON object the follow-up job's data holds.
local function counts_json(c)
  local parts = {}
  for _, state in ipairs(STATES) do parts[#parts + 1] = '"' .. state .. '":' .. c[state] end
  parts[#parts + 1] = '"total":' .. c.total
  return '{' .. table.concat(parts, ',') .. '}'
end

-- The queues a follow-up job was pushed on in this script, in order: a
-- script that may end a group (transition, group) returns them last in its
-- reply, so the caller wakes a worker of each (the wake-up lists are in
-- another slot: no script touches them).  Callers strip them from the reply.
local WOKE = {}

-- The follow-up job of the ended group JOB (`h`, its HEAD fields; `c`,
-- its counts), pushed once: on `then_queue`, with data {"group": id,
-- "counts": {...}, "data": then_data}, living as long as the group was made to.
local function group_then(h, c, now)
  local t = redis.call('HMGET', JOB, 'then_queue', 'then_id', 'then_done', 'then_name', 'then_data')
  if not t[1] or not t[2] or t[3] then return end
  redis.call('HSET', JOB, 'then_done', now)
  if redis.call('EXISTS', PREFIX .. 'job:' .. t[2]) == 1 then return end
  local data = '{"group":' .. cjson.encode(ID) .. ',"counts":' .. counts_json(c) .. ',"data":' .. (t[5] or 'null')
    .. '}'
  local life = tonumber(h.expires) - tonumber(h.created)
  as_job(t[2], function()
    local expires = now + life
    local fields = {'state', INITIAL, 'created', now, 'expires', expires, 'queue', t[1], 'attempt', 1,
      'retries', 0, 'backoff', 0, 'ready', now}
    local given = {fields = {}, data = data}
    if t[4] then given.fields = {'name', t[4]} end
    new_record(fields, given, expires, now)
    enqueue(t[1], now, expires, now, 0)
    WOKE[#WOKE + 1] = t[1]
    emit(INITIAL, now, expires)
  end)
end

-- Move the group `gid` (read as `g`) to `target`.
local function group_move(gid, g, target, now)
  as_job(gid, function()
    local h = head()
    if malformed(h) then return end
    local fields, err = {}, nil
    if in_set(ENDED, h.state) then redis.call('HDEL', JOB, 'ended', 'error') end  -- a retried child reopens it
    if target == SETTLE_TO then
      err = '{"reason":"children_failed","failed":' .. g.c[SETTLE_TO] .. ',"cancelled":' .. (g.c[G_CANCELLED] or 0)
        .. ',"expired":' .. g.c.expired .. '}'
      fields = {'error', err}
    end
    move(h, target, now, fields, {})
    emit(target, now, nil, err and 'error', err)
    if in_set(ENDED, target) then group_then(h, g.c, now) end
  end)
end

-- Move the group `gid` (read as `g`; nil: read it now) to the state its
-- counts call for, if that is a move.
local function group_step(gid, now, g)
  g = g or group_read(group_key(gid))
  if g.kind ~= GROUP_KIND then return end
  local target = group_target(g)
  if target then group_move(gid, g, target, now) end
end

-- The group a create names (its field `group`), or nil.
local function group_given(given)
  for i = 1, #given.fields, 2 do
    if given.fields[i] == 'group' then return given.fields[i + 1] end
  end
  return nil
end

-- Whether a new child may join the group `gid`, and until when it may
-- live: `expires` capped at the group's own expiry; or nil and the reply
-- refusing it (nothing written): {'nogroup', gid} when there is no such
-- group in this shard, {'closed', gid} when it takes no more children.
-- The group it read is kept for the child's first move in this script
-- (ADMITTED: nothing writes the group in between).
local ADMITTED = {}
local function group_admit(gid, expires)
  local g = group_read(group_key(gid))
  if g.kind ~= GROUP_KIND then return nil, {'nogroup', gid} end
  if g.closed then return nil, {'closed', gid} end
  ADMITTED.gid, ADMITTED.g = gid, g
  if g.expires and g.expires < expires then return g.expires end
  return expires
end

-- The expiry of a new job made with `given` (create_fields): `expires`,
-- capped at its group's when it names one; or nil and the reply refusing
-- it (see group_admit).
local function group_join(given, expires)
  local gid = group_given(given)
  if not gid then return expires end
  return group_admit(gid, expires)
end

-- The child ID of group `gid` moved from `from` (nil: it is new) to `to`:
-- one HMGET and one HSET of the group's record, the `open` entry when it
-- ends or comes back, and the group's own move when its counts call for one.
local function group_moved(gid, from, to, expires, now)
  local gjob = group_key(gid)
  local g = ADMITTED.gid == gid and ADMITTED.g or group_read(gjob)
  ADMITTED.gid = nil
  if g.kind ~= GROUP_KIND or not g.expires then return end  -- its group is gone: nothing left to count
  local ended_before = 0
  for _, state in ipairs(STATES) do
    if G_ENDED[state] then ended_before = ended_before + g.c[state] end
  end
  local open_before = g.c.total - ended_before  -- children in `open` (or expired, not yet counted)
  local changed = {to}
  g.c[to] = g.c[to] + 1
  if from then
    g.c[from] = g.c[from] - 1
    changed[2] = from
  else
    g.c.total = g.c.total + 1
    changed[2] = 'total'
    redis.call('ZADD', ingroup_key(gid), 0, ingroup_entry(now, ID))
    -- no child outlives its group: the index lives until the group's end
    -- plus a tombstone lifetime, set with its first child
    if g.c.total == 1 then redis.call('PEXPIREAT', ingroup_key(gid), g.expires + TOMB_TTL) end
  end
  group_write(gjob, g, changed)
  local ends, was_ended = G_ENDED[to] == true, from ~= nil and G_ENDED[from] == true
  if ends and not was_ended then
    redis.call('ZREM', open_key(gid), ID)
  elseif not ends and (from == nil or was_ended) then  -- new, or retried: open until it ends
    redis.call('ZADD', open_key(gid), expires, ID)
    -- an empty zset is no key: the first entry since it emptied sets its expiry
    if open_before <= 0 then redis.call('PEXPIREAT', open_key(gid), g.expires + TOMB_TTL) end
  end
  group_step(gid, now, g)
end
GROUP.moved = group_moved

-- The child `id` of group `gid`, last in `state`, is gone: deleted (it
-- leaves the counts) or expired (not ended: it counts as failed).
local function group_gone(gid, id, state, now, deleted)
  ADMITTED.gid = nil  -- a cleanup between a child's admission and its first move changes its group
  local gjob = group_key(gid)
  local g = group_read(gjob)
  if g.kind ~= GROUP_KIND then return end
  local open = redis.call('ZREM', open_key(gid), id) == 1
  local changed = {}
  if state then
    g.c[state] = g.c[state] - 1
    changed[1] = state
  end
  if deleted then
    g.c.total = g.c.total - 1
    changed[#changed + 1] = 'total'
  elseif open then
    g.c[SETTLE_TO] = g.c[SETTLE_TO] + 1
    g.c.expired = g.c.expired + 1
    changed[#changed + 1] = SETTLE_TO
    changed[#changed + 1] = 'expired'
  else
    return  -- an ended child's record expired: it stays counted where it ended
  end
  group_write(gjob, g, changed)
  group_step(gid, now, g)
end
GROUP.gone = group_gone

-- Count the children of group `gid` that expired before they ended and
-- that no cleanup has counted yet (at most `batch`), then move the group
-- as its counts call for: what a read of a group does first.
local function group_settle(gid, now, batch)
  local late = redis.call('ZRANGEBYSCORE', open_key(gid), '-inf', now, 'LIMIT', 0, batch)
  for _, id in ipairs(late) do
    local state
    for _, s in ipairs(STATES) do
      if not in_set(ENDED, s) and redis.call('ZSCORE', KEYS[IDX[s]], id) then state = s end
    end
    group_gone(gid, id, state, now, false)
  end
  group_step(gid, now)
end

-- A deleted group's own keys.
local function group_drop(gid)
  redis.call('DEL', open_key(gid), ingroup_key(gid))
end
