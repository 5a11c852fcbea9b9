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
local G_RUNNING = move_row('start')
local G_FINISHED = move_row('finish')
local G_CANCELLED = move_row('cancel')

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

-- The child counts of the group whose record is JOB: state -> n, and
-- `total`, `expired`.
local function group_counts()
  local names = {}
  for i, state in ipairs(STATES) do names[i] = 'n:' .. state end
  names[#names + 1] = 'n:total'
  names[#names + 1] = 'n:expired'
  local got = redis.call('HMGET', JOB, unpack(names))
  local c = {}
  for i, state in ipairs(STATES) do c[state] = tonumber(got[i] or '') or 0 end
  c.total = tonumber(got[#STATES + 1] or '') or 0
  c.expired = tonumber(got[#STATES + 2] or '') or 0
  return c
end

-- The counts as the JSON object the follow-up job's data holds.
local function counts_json(c)
  local parts = {}
  for _, state in ipairs(STATES) do parts[#parts + 1] = '"' .. state .. '":' .. c[state] end
  parts[#parts + 1] = '"total":' .. c.total
  return '{' .. table.concat(parts, ',') .. '}'
end

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
    emit(INITIAL, now, expires)
  end)
end

-- Move the group `gid` to the state its counts call for (see the top).
local function group_step(gid, now)
  as_job(gid, function()
    local h = head()
    if h.kind ~= GROUP_KIND or malformed(h) then return end
    local c = group_counts()
    local ended = 0
    for _, state in ipairs(STATES) do
      if in_set(ENDED, state) then ended = ended + c[state] end
    end
    local target
    if redis.call('HEXISTS', JOB, 'closed') == 1 and ended >= c.total then
      target = c[G_FINISHED] >= c.total and G_FINISHED or SETTLE_TO
    elseif ended > 0 or c[G_RUNNING] > 0 then
      target = G_RUNNING
    end
    if not target or target == h.state or (in_set(ENDED, h.state) and in_set(ENDED, target)) then return end
    local fields, err = {}, nil
    if in_set(ENDED, h.state) then redis.call('HDEL', JOB, 'ended', 'error') end  -- a retried child reopens it
    if target == SETTLE_TO then
      err = '{"reason":"children_failed","failed":' .. c[SETTLE_TO] .. ',"cancelled":' .. (c[G_CANCELLED] or 0)
        .. ',"expired":' .. c.expired .. '}'
      fields = {'error', err}
    end
    move(h, target, now, fields, {})
    emit(target, now, nil, err and 'error', err)
    if in_set(ENDED, target) then group_then(h, c, now) end
  end)
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
local function group_admit(gid, expires)
  local g = redis.call('HMGET', group_key(gid), 'kind', 'closed', 'expires')
  if g[1] ~= GROUP_KIND then return nil, {'nogroup', gid} end
  if g[2] then return nil, {'closed', gid} end
  local until_ = tonumber(g[3] or '')
  if until_ and until_ < expires then return until_ end
  return expires
end

-- The child ID of group `gid` moved from `from` (nil: it is new) to `to`.
local function group_moved(gid, from, to, expires, now)
  local gjob = group_key(gid)
  local gexpires = tonumber(redis.call('HGET', gjob, 'expires') or '')
  if not gexpires then return end  -- its group is gone: nothing left to count
  if from then
    redis.call('HINCRBY', gjob, 'n:' .. from, -1)
  else
    redis.call('HINCRBY', gjob, 'n:total', 1)
    redis.call('ZADD', ingroup_key(gid), 0, ingroup_entry(now, ID))
    keep_until(ingroup_key(gid), gexpires + TOMB_TTL, now)
  end
  redis.call('HINCRBY', gjob, 'n:' .. to, 1)
  if in_set(ENDED, to) then
    redis.call('ZREM', open_key(gid), ID)
  else
    redis.call('ZADD', open_key(gid), expires, ID)
    keep_until(open_key(gid), gexpires + TOMB_TTL, now)
  end
  group_step(gid, now)
end
GROUP.moved = group_moved

-- The child `id` of group `gid`, last in `state`, is gone: deleted (it
-- leaves the counts) or expired (not ended: it counts as failed).
local function group_gone(gid, id, state, now, deleted)
  local gjob = group_key(gid)
  if redis.call('EXISTS', gjob) == 0 then return end
  local open = redis.call('ZREM', open_key(gid), id) == 1
  if deleted then
    if state then redis.call('HINCRBY', gjob, 'n:' .. state, -1) end
    redis.call('HINCRBY', gjob, 'n:total', -1)
    redis.call('ZREM', ingroup_key(gid), id)
  elseif open then
    if state then redis.call('HINCRBY', gjob, 'n:' .. state, -1) end
    redis.call('HINCRBY', gjob, 'n:' .. SETTLE_TO, 1)
    redis.call('HINCRBY', gjob, 'n:expired', 1)
  else
    return
  end
  group_step(gid, now)
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
