-- Shared prelude, sent (after _states.lua, which defines the KEYS layout:
-- JOB, DUE, EVENTS, TOMB, and IDX[state] for each state index) before every
-- script that works on one job or one shard.  It is not a command of its own.
--
-- ARGV[1..4] are always:
--   ARGV[1]  job id   ARGV[2]  call token ('' = none)
--   ARGV[3]  event stream cap (MAXLEN per shard, exact)
--   ARGV[4]  tombstone lifetime, ms
-- Invariant: a job id is in exactly the index of the state its hash holds,
-- scored by the hash's `expires` field; running jobs with a lease or a
-- maximum run time are also in `due`, scored by the earliest deadline.
-- Rule: every check happens before the first write (Redis never rolls back).

local ID, TOKEN = ARGV[1], ARGV[2]
local EVENT_CAP, TOMB_TTL = tonumber(ARGV[3]), tonumber(ARGV[4])

local NOW_US = 0  -- the microseconds of the last TIME (a clock-driven turn that no caller's period aligns with)

-- Whether `state` is in `set`, a set of states as _states.lua writes them
-- (space separated, a space at each end).
local function in_set(set, state)
  return state ~= nil and string.find(set, ' ' .. state .. ' ', 1, true) ~= nil
end

-- The row of MOVES named `name`: its target, the states it leaves (a set
-- for in_set) and the fields it deletes (a list); nil for a name the table
-- lacks.
local function move_row(name)
  local row = MOVES[name]
  if not row then return nil end
  local target, sources, clears = string.match(row, '^([^|]*)|([^|]*)|(.*)$')
  local gone = {}
  for field in string.gmatch(clears, '%S+') do gone[#gone + 1] = field end
  return target, sources, gone
end

local function now_ms()
  local t = redis.call('TIME')
  NOW_US = tonumber(t[2])
  return tonumber(t[1]) * 1000 + math.floor(NOW_US / 1000)
end

-- Make `key` live at least until `at_ms` (never shortens an expiry).  It
-- is stamped a quarter of its remaining life later (at most an hour), so a
-- busy key is re-stamped now and then rather than on every call.
local function keep_until(key, at_ms, now)
  local left = redis.call('PTTL', key)
  if left < 0 or now + left < at_ms then
    redis.call('PEXPIREAT', key, at_ms + math.min(math.floor((at_ms - now) / 4), 3600000))
  end
end

-- Append an event to the shard's stream, which never holds more than
-- EVENT_CAP entries.  A cap of more than 2 * TRIM_NODE is kept in whole
-- stream nodes (`MAXLEN ~ EVENT_CAP - TRIM_NODE`: between EVENT_CAP -
-- TRIM_NODE and EVENT_CAP entries), which costs a third of trimming one
-- entry off the oldest node on every append; a smaller cap is kept
-- exactly.  TRIM_NODE is Redis' default stream-node-max-entries (a server
-- with a larger one may keep up to the difference more).  Its id is `<ms>-<µs within the ms × 1000 + n>` (n counts this
-- call's events), so merging the shards' streams by (ms, seq, shard)
-- follows the server's clock rather than the shard number.  When the
-- stream already holds a later id (another call in the same microsecond,
-- or the clock stepped back) Redis picks the id instead.
local EVENT_N = 0
local TRIM_NODE = 100
local TRIM_HOW, TRIM_AT = '=', EVENT_CAP
if EVENT_CAP > 2 * TRIM_NODE then TRIM_HOW, TRIM_AT = '~', EVENT_CAP - TRIM_NODE end
local function xadd(now, ...)
  local id = string.format('%d-%d', now, (NOW_US % 1000) * 1000 + EVENT_N)
  EVENT_N = EVENT_N + 1
  local added = redis.pcall('XADD', EVENTS, 'MAXLEN', TRIM_HOW, TRIM_AT, id, ...)
  if type(added) == 'table' and added.err then
    redis.call('XADD', EVENTS, 'MAXLEN', TRIM_HOW, TRIM_AT, '*', ...)
  end
end

-- One event of this job.  The stream lives as long as the longest-lived
-- job that wrote to it: `create` extends its expiry (pass `expires`);
-- later events of a live job need not.
local function emit(state, now, expires, extra_k, extra_v)
  if extra_k then
    xadd(now, 'job', ID, 'state', state, extra_k, extra_v)
  else
    xadd(now, 'job', ID, 'state', state)
  end
  if expires then keep_until(EVENTS, expires, now) end
end

-- The finding indexes of the shard (docs/data-model.md, "Finding jobs"):
-- by creation time every job (`created`) and every job of one state
-- (`created:<state>`), one tag (`tag:<tag>`), one queue (`inqueue:<queue>`);
-- the names, read by lexical range (`names`, members `<name> NUL <id>`);
-- per tag and per queue a count of its jobs in each state (`tally:tag:<tag>`,
-- `tally:queue:<queue>`, hashes of state -> count); and `meta`, id -> what
-- a job's expired entries must be removed from once its record is gone.
-- Their names are built from the shard's own prefix: the same hash slot.
local PREFIX = string.match(JOB, '^(.-}:)')
local BY_CREATED, NAMES, META = PREFIX .. 'created', PREFIX .. 'names', PREFIX .. 'meta'
local function created_key(state) return PREFIX .. 'created:' .. state end
local function tag_key(tag) return PREFIX .. 'tag:' .. tag end
local function inqueue_key(queue) return PREFIX .. 'inqueue:' .. queue end
local function tally_key(kind, value) return PREFIX .. 'tally:' .. kind .. ':' .. value end
-- A name's segments: the name up to and including its first `-`, `_`, `.`,
-- `:`, `/` or space, and up to and including its second one (none, one or
-- two of them); `nameseg:<segment>` holds the jobs whose name starts so,
-- scored by `created`: "nightly-*" is one index, "job-7-*" another.
local function name_segments(name)
  local first = string.match(name, '^[^%-_%.:/ ]*[%-_%.:/ ]')
  if not first then return {} end
  local second = string.match(name, '^[^%-_%.:/ ]*[%-_%.:/ ]', #first + 1)
  return second and {first, first .. second} or {first}
end
local function segment_key(segment) return PREFIX .. 'nameseg:' .. segment end

-- The tags stored on a job (`tags`, a JSON list of strings), as a list.
local function tags_of(raw)
  if not raw or raw == '' then return {} end
  local ok, list = pcall(cjson.decode, raw)
  local out = {}
  if ok and type(list) == 'table' then
    for _, v in ipairs(list) do
      if type(v) == 'string' then out[#out + 1] = v end
    end
  end
  return out
end

-- The tally keys of a job of `queue` (or nil) with `tags` (a list).
local function tallies(queue, tags)
  local out = {}
  if queue then out[1] = tally_key('queue', queue) end
  for _, tag in ipairs(tags) do out[#out + 1] = tally_key('tag', tag) end
  return out
end

-- One job less in the tally `key` for `state` (a job gone: deleted, or its
-- record expired): when no count is left above 0 the tally goes whole, so
-- nothing outlives its jobs.
local function count_down(key, state)
  if redis.call('HINCRBY', key, state, -1) > 0 then return end
  for _, n in ipairs(redis.call('HVALS', key)) do
    if tonumber(n) > 0 then
      redis.call('HDEL', key, state)
      return
    end
  end
  redis.call('DEL', key)
end

-- The hooks of groups (_groups.lua fills it): `moved(gid, from, to,
-- expires, now)` after a child's move (from nil: a new child), `gone(gid,
-- id, state, now, deleted)` when a child's record is deleted or expired.
-- A table, so the parts that use it come before the parts that define it.
local GROUP = {}

-- A job's move between states in its state index (scored by `expires`),
-- its created-time index (scored by `created`), the tallies of its
-- queue and tags and the counts of its group (`group`: {created = ms,
-- queue = name or nil, tags = list, g = its group's id or nil}).
-- A tally outlives the entries it counts by two tombstone lifetimes, so a
-- late cleanup never counts down a tally made again since.
local function index_move(from, to, expires, now, group)
  if from then
    redis.call('ZREM', KEYS[IDX[from]], ID)
    redis.call('ZREM', created_key(from), ID)
  end
  redis.call('ZADD', KEYS[IDX[to]], expires, ID)
  keep_until(KEYS[IDX[to]], expires + TOMB_TTL, now)
  if group.created then
    redis.call('ZADD', created_key(to), group.created, ID)
    keep_until(created_key(to), expires + TOMB_TTL, now)
  end
  for _, key in ipairs(tallies(group.queue, group.tags)) do
    -- one more in `to` before one less in `from`, so a moving job's tally
    -- never empties (and with it its expiry) on the way; a job counted in
    -- `from` was counted when it was made, which set the tally's expiry for
    -- it: only a job that was not (made before tallies) needs it set here
    -- (a count that reaches 0 stays: the cleanup that takes a tally's last
    -- job drops it whole, see count_down)
    redis.call('HINCRBY', key, to, 1)
    local left = from and redis.call('HINCRBY', key, from, -1)
    if left and left < 0 then redis.call('HDEL', key, from) end
    if not left or left < 0 then keep_until(key, expires + 2 * TOMB_TTL, now) end
  end
  if group.g then GROUP.moved(group.g, from, to, expires, now) end
end

-- The group of the job whose HEAD fields are `h` (see index_move).
local function group_of(h)
  return {created = tonumber(h.created or ''), queue = h.queue, tags = tags_of(h.tags), g = h.group}
end

-- A new job in the finding indexes: by creation time, name, queue and tags,
-- and its `meta` entry, which cleanup reads once the record is gone.
local function index_new(group, name, expires, now)
  local created = group.created
  redis.call('ZADD', BY_CREATED, created, ID)
  keep_until(BY_CREATED, expires + TOMB_TTL, now)
  local meta = {}
  if name then
    redis.call('ZADD', NAMES, 0, name .. '\0' .. ID)
    keep_until(NAMES, expires + TOMB_TTL, now)
    for _, segment in ipairs(name_segments(name)) do
      redis.call('ZADD', segment_key(segment), created, ID)
      keep_until(segment_key(segment), expires + TOMB_TTL, now)
    end
    meta.n = name
  end
  if group.queue then
    redis.call('ZADD', inqueue_key(group.queue), created, ID)
    keep_until(inqueue_key(group.queue), expires + TOMB_TTL, now)
    meta.q = group.queue
  end
  for _, tag in ipairs(group.tags) do
    redis.call('ZADD', tag_key(tag), created, ID)
    keep_until(tag_key(tag), expires + TOMB_TTL, now)
  end
  if #group.tags > 0 then meta.t = group.tags end
  if group.g then meta.g = group.g end
  if next(meta) then
    redis.call('HSET', META, ID, cjson.encode(meta))
    keep_until(META, expires + TOMB_TTL, now)
  end
end

-- Remove the job `id`, last in `state` (nil: unknown), from every finding
-- index, by its `meta` entry (its record may be gone), and tell its group
-- (`deleted`: by delete.lua; else its record expired).
local function unindex(id, state, now, deleted)
  redis.call('ZREM', BY_CREATED, id)
  if state then
    redis.call('ZREM', created_key(state), id)
  else
    for _, s in ipairs(STATES) do redis.call('ZREM', created_key(s), id) end
  end
  local raw = redis.call('HGET', META, id)
  if not raw then return end
  local ok, meta = pcall(cjson.decode, raw)
  redis.call('HDEL', META, id)
  if not ok or type(meta) ~= 'table' then return end
  if type(meta.n) == 'string' then
    redis.call('ZREM', NAMES, meta.n .. '\0' .. id)
    for _, segment in ipairs(name_segments(meta.n)) do redis.call('ZREM', segment_key(segment), id) end
  end
  local queue = type(meta.q) == 'string' and meta.q or nil
  local tags = {}
  if type(meta.t) == 'table' then
    for _, tag in ipairs(meta.t) do
      if type(tag) == 'string' then tags[#tags + 1] = tag end
    end
  end
  if queue then redis.call('ZREM', inqueue_key(queue), id) end
  for _, tag in ipairs(tags) do redis.call('ZREM', tag_key(tag), id) end
  if type(meta.g) == 'string' then GROUP.gone(meta.g, id, state, now, deleted) end
  if state then
    for _, key in ipairs(tallies(queue, tags)) do
      if redis.call('HEXISTS', key, state) == 1 then count_down(key, state) end
    end
  end
end

-- The job as a flat list of field, value; its payloads (`data`, the input,
-- and `result`) only when asked for.
-- The reply for an id without a record: {'expired'} while an index entry
-- or a tombstone still remembers it, else {'gone'} (never existed, or
-- expired so long ago that nothing remembers it).  Only on the failure path.
-- A tombstone scored ms + 0.5 remembers a deleted job (delete.lua): {'deleted'}.
local function missing()
  for _, state in ipairs(STATES) do
    if redis.call('ZSCORE', KEYS[IDX[state]], ID) then return {'expired'} end
  end
  local tomb = redis.call('ZSCORE', TOMB, ID)
  if tomb then return {tonumber(tomb) % 1 == 0.5 and 'deleted' or 'expired'} end
  return {'gone'}
end

local function snapshot(with_data)
  local all = redis.call('HGETALL', JOB)
  if with_data then return all end
  local out = {}
  for i = 1, #all, 2 do
    if all[i] ~= 'data' and all[i] ~= 'result' then
      out[#out + 1] = all[i]
      out[#out + 1] = all[i + 1]
    end
  end
  return out
end

-- The fields scripts rely on, read in one HMGET by `head()`; `malformed()`
-- checks them before a script writes anything.  `state` must be one of
-- STATES; `created` and `expires` integer ms; `started`, `lease`,
-- `max_runtime` and `beat` integer ms when present (a running job with a
-- maximum run time needs `started`, with a lease `beat`).  `token` is
-- opaque text: any value is valid.  Other fields (`name`, `data`,
-- `progress`, `error`, `ended`, fields of a newer version) are never read
-- by a script and are kept as they are.
local HEAD = {'state', 'token', 'created', 'expires', 'started', 'lease', 'max_runtime', 'beat', 'queue', 'ready',
  'priority', 'tags', 'group', 'kind'}
local CHECKED = 8  -- HEAD[3..CHECKED] are checked; `queue`, `ready`, `priority` and `tags` are read only to find
-- a queue entry and the finding indexes a job is in, `group` (a child's group id) and `kind` ('group' for a
-- group) to keep a group's counts (_groups.lua)
local KNOWN = {}
for _, s in ipairs(STATES) do KNOWN[s] = true end

-- The job's HEAD fields by name (absent: nil).
local function head()
  local f = redis.call('HMGET', JOB, unpack(HEAD))
  local h = {}
  for i, name in ipairs(HEAD) do
    if f[i] then h[name] = f[i] end
  end
  return h
end

-- Integer milliseconds: at most 15 digits, so exact in Lua's numbers.
local function is_ms(v)
  local digits = string.match(v, '^%-?(%d+)$')
  return digits ~= nil and #digits <= 15
end

-- The name of the first malformed field of `h` (see HEAD), or nil.
local function malformed(h)
  if not KNOWN[h.state or ''] then return 'state' end
  for i = 3, CHECKED do
    local name = HEAD[i]
    local v = h[name]
    if v == nil then
      if i <= 4 then return name end  -- created, expires: always present
    elseif not is_ms(v) then
      return name
    end
  end
  if HOLDS[h.state] == 'due' then  -- a running job's deadlines need their start
    if h.max_runtime and not h.started then return 'started' end
    if h.lease and not h.beat then return 'beat' end
  end
  return nil
end

-- The reply refusing a malformed record, naming the field: nothing written.
local function corrupt(field)
  return {'corrupt', field}
end

-- The job's HEAD fields, or a reply to return at once (nothing written):
-- {'corrupt', field} for a malformed record, including one without a
-- state; missing() when there is no record (only if `missing_reply`);
-- with `now`, {'expired'} for a record whose `expires` has passed though
-- its key is still there (a writer that set no PEXPIREAT, or a clock
-- ahead of it): no move may revive it into an index it would leave at once.
local function checked_head(missing_reply, now)
  local h = head()
  if not h.state and redis.call('EXISTS', JOB) == 0 then
    return nil, missing_reply and missing() or {'gone'}
  end
  local bad = malformed(h)
  if bad then return nil, corrupt(bad) end
  if now and tonumber(h.expires) <= now then return nil, {'expired'} end
  return h
end

-- HSET arguments: `fields` plus the payload `field` (`data`, the input a
-- create stores; `result`, what a move stores) when there is one.  The
-- reply echoes `fields` only: the caller already has the payload it sent.
local function with_data(fields, has_data, data, field)
  if not has_data then return fields end
  local args = {unpack(fields)}
  args[#args + 1] = field
  args[#args + 1] = data
  return args
end

-- The fields set at create, field, value pairs in ARGV[first..last]:
-- {fields = flat field, value list without data, data = the data's JSON
-- text or nil}, or {err = reply} when they are not pairs or one names a
-- field the script sets itself.
local SET_BY_CREATE = {state = true, created = true, expires = true, token = true}
local function create_fields(first, last)
  if (last - first + 1) % 2 ~= 0 then
    return {err = redis.error_reply('ERR the fields set at create come in field, value pairs')}
  end
  local out = {fields = {}}
  for i = first, last, 2 do
    local f, v = ARGV[i], ARGV[i + 1]
    if SET_BY_CREATE[f] then return {err = redis.error_reply('ERR create sets the field ' .. f .. ' itself')} end
    if f == 'data' then
      out.data = v
    else
      out.fields[#out.fields + 1] = f
      out.fields[#out.fields + 1] = v
    end
  end
  return out
end

-- A new record: `fields` (state, created, expires and what the caller
-- sets) plus this call's token and the fields set at create (`given`, from
-- create_fields), written with its data, living until `expires`, and in
-- the index of INITIAL.  The caller then queues it (push) and emits.
local function new_record(fields, given, expires, now)
  if TOKEN ~= '' then
    fields[#fields + 1] = 'token'
    fields[#fields + 1] = TOKEN
  end
  for _, f in ipairs(given.fields) do fields[#fields + 1] = f end
  redis.call('HSET', JOB, unpack(with_data(fields, given.data ~= nil, given.data, 'data')))
  redis.call('PEXPIREAT', JOB, expires)
  local named = {}
  for i = 1, #fields, 2 do named[fields[i]] = fields[i + 1] end
  local group = {created = now, queue = named.queue, tags = tags_of(named.tags), g = named.group}
  index_move(nil, INITIAL, expires, now, group)
  index_new(group, named.name, expires, now)
end

-- A keyed create (create, push; docs/data-model.md, "Idempotent create"):
-- the field `key` given at create is the job's idempotency key, and
-- KEYS[NKEYS + 1], when given, the key's entry `<ns>:{<tag>}:key:<key>` in
-- this very shard (the key and the id fall in one shard: the script claims
-- the key and makes the job in one step).  Returns the key (nil: not a keyed
-- create) and the entry (nil: in another shard, claimed by claim.lua), or
-- a reply to return at once, nothing written: an error for an entry that
-- is not the key's in this shard, {'taken', id} when it names another job.
local function key_entry(given)
  local key
  for i = 1, #given.fields, 2 do
    if given.fields[i] == 'key' then key = given.fields[i + 1] end
  end
  local entry = KEYS[NKEYS + 1]
  if entry == nil then return key, nil end
  if key == nil or KEYS[NKEYS + 2] ~= nil or entry ~= string.match(JOB, '^(.-}:)job:') .. 'key:' .. key then
    return nil, nil, redis.error_reply("ERR KEYS[" .. (NKEYS + 1) .. "] must be the entry of the key given, in the job's shard")
  end
  local cur = redis.call('GET', entry)
  if cur and cur ~= ID then return nil, nil, {'taken', cur} end
  return key, entry
end

-- Of a keyed create, after the `exists` check: {'expired'} or {'deleted'}
-- (nothing written) when the id was a job once, so a key never names a dead
-- id again (the caller points it at a new one); else nil.
local function key_dead(key)
  if key == nil then return nil end
  local found = missing()
  if found[1] ~= 'gone' then return found end
  return nil
end

-- Point the key's entry (in this shard) at the new job, released when the
-- record expires.
local function key_point(entry, expires)
  if entry == nil then return end
  redis.call('SET', entry, ID)
  redis.call('PEXPIREAT', entry, expires)
end

-- The fields a start writes for a lease and a maximum run time (ms, nil
-- for none), added to `fields`; returns the job's `due` score (the earlier
-- deadline), or nil when it has neither.
local function start_fields(fields, lease, maxrt, now)
  local due
  if lease then
    fields[#fields + 1] = 'lease'
    fields[#fields + 1] = lease
    fields[#fields + 1] = 'beat'
    fields[#fields + 1] = now
    due = now + lease
  end
  if maxrt then
    fields[#fields + 1] = 'max_runtime'
    fields[#fields + 1] = maxrt
    if not due or now + maxrt < due then due = now + maxrt end
  end
  return due
end

-- The work queue (docs/data-model.md, "Work queue").
-- A queued job (pushed by push.lua) has `queue`, `attempt` (1-based),
-- `retries` and `backoff` (ms) fields, `priority` when it is not 0, and
-- while waiting one entry in the shard's QUEUE zset: every entry scores 0
-- and the member is queue NUL level ready(15 digits, ms) NUL expires(15
-- digits, ms) NUL id, where level is '' for priority 0 (so entries written
-- before priorities existed read as priority 0), '!' 6 digits (999999 - p)
-- NUL for a priority p > 0 and '~' 6 digits (-p - 1) NUL for p < 0.  '!'
-- sorts before the digits and '~' after them, so ZRANGEBYLEX over
-- [queue NUL, (queue \1 gives that queue's entries highest priority first,
-- and within a priority oldest ready time first (ties by expiry, then id).
-- `ready` is kept on the job.
local PRIORITY_MAX = 999999
local function qlevel(priority)
  if priority > 0 then return '!' .. string.format('%06d', PRIORITY_MAX - priority) .. '\0' end
  if priority < 0 then return '~' .. string.format('%06d', -priority - 1) .. '\0' end
  return ''
end

-- The priority a record's `priority` field gives (0 when absent or not an
-- integer push could have written).
local function qpriority(v)
  local p = tonumber(v or '')
  if p and p == math.floor(p) and p >= -PRIORITY_MAX and p <= PRIORITY_MAX then return p end
  return 0
end

local function qmember(queue, ready, expires, id, priority)
  return queue .. '\0' .. qlevel(priority or 0) .. string.format('%015d', ready) .. '\0'
    .. string.format('%015d', expires) .. '\0' .. id
end

-- Where the ready time starts in an entry of `queue` (past its level).
local function qready_at(queue, member)
  local c = string.sub(member, #queue + 2, #queue + 2)
  if c == '!' or c == '~' then return #queue + 10 end
  return #queue + 2
end

-- The entry of `queue` a pop takes first: the oldest ready entry of the
-- highest priority that has one; if none is ready, the entry that becomes
-- ready first ('' for none).  One lookup per priority level, past the
-- levels whose first entry is not ready yet: at most QLEVELS_LOOKED levels
-- (a queue with more levels of delayed jobs may wait for a later one).
local QLEVELS_LOOKED = 32
local function qfirst(queue, now)
  local from, stop = '[' .. queue .. '\0', '(' .. queue .. '\1'
  local best, best_ready
  for _ = 1, QLEVELS_LOOKED do
    local m = redis.call('ZRANGEBYLEX', QUEUE, from, stop, 'LIMIT', 0, 1)[1]
    if not m then break end
    local at = qready_at(queue, m)
    local ready = tonumber(string.sub(m, at, at + 14))
    if not ready or ready <= now then return m end  -- (not an entry of ours: the pop drops it)
    if not best or ready < best_ready then best, best_ready = m, ready end
    if at == #queue + 2 then
      from = '[' .. queue .. '\0:'  -- past priority 0's entries (digits)
    else
      from = '[' .. string.sub(m, 1, at - 2) .. '\1'  -- past this level's entries
    end
  end
  return best or ''
end

-- While a queued job runs, QUEUE also holds its running entry, queue \1
-- expires(15 digits, ms) NUL id, so a queue's running jobs are counted
-- without reading one (qstats.lua: from [queue \1 <now + 1> to (queue \2,
-- which leaves out the expired).  RUNS is the state that holds it.
local RUNS = SETTLE_FROM
local function rmember(queue, expires, id)
  return queue .. '\1' .. string.format('%015d', expires) .. '\0' .. id
end

-- A paused queue's marker in every shard's QUEUE: \2 queue (a queue name is
-- printable, so no entry starts with \2).  pause.lua makes QUEUE persistent
-- while it holds a marker, and only resume.lua gives it an expiry again.
local function pmember(queue)
  return '\2' .. queue
end

-- Add `member` to QUEUE, which lives at least until `expires`; a QUEUE
-- without an expiry holds a pause marker and is left so.
local function queue_add(member, expires, now)
  local left = redis.call('PTTL', QUEUE)
  redis.call('ZADD', QUEUE, 0, member)
  if left ~= -1 then keep_until(QUEUE, expires, now) end
end

local function enqueue(queue, ready, expires, now, priority)
  queue_add(qmember(queue, ready, expires, ID, priority), expires, now)
end

-- Move the job `h` (its HEAD fields, as read by head()) from its state to
-- `to`: `fields` (written as given) plus the state and the time stamp of
-- `to`, indexes, and what leaving its state drops (HOLDS in _states.lua):
-- its `due` entry, or its queue entry.  `opt` (all optional): `result`,
-- the JSON text to store as the job's result (its input, `data`, is never
-- changed by a move); `stamped`, the time stamp of `to` when it is not
-- `now` (a stalled or timed-out job ended at its deadline, not when a
-- reader noticed); `dequeued`, true when the caller removed the queue
-- entry itself.
local function move(h, to, now, fields, opt)
  local from, expires = h.state, tonumber(h.expires)
  fields[#fields + 1] = 'state'
  fields[#fields + 1] = to
  if STAMP[to] then
    fields[#fields + 1] = STAMP[to]
    fields[#fields + 1] = opt.stamped or now
  end
  redis.call('HSET', JOB, unpack(with_data(fields, opt.result ~= nil, opt.result, 'result')))
  local held = HOLDS[from]
  if held == 'due' and (h.lease or h.max_runtime) then
    redis.call('ZREM', DUE, ID)
  elseif held == 'queue' and not opt.dequeued and h.queue and tonumber(h.ready or '') then
    redis.call('ZREM', QUEUE, qmember(h.queue, tonumber(h.ready), expires, ID, qpriority(h.priority)))
    redis.call('HDEL', JOB, 'ready')
  end
  if h.queue then  -- a queued job's running entry comes and goes with `running`
    if from == RUNS then redis.call('ZREM', QUEUE, rmember(h.queue, expires, ID)) end
    if to == RUNS then queue_add(rmember(h.queue, expires, ID), expires, now) end
  end
  index_move(from, to, expires, now, group_of(h))
  h.state = to
end

-- `prev` (the stored `attempts`, a JSON list, or nil) with one more ended
-- attempt appended: its number, when it started and ended (ms; nil: it
-- never started) and its error (JSON text; nil or '': none); `retry`, for
-- an attempt that was retried from where it ended: ',"state":"<the ended
-- state>","retried":<ms>' (a requeued attempt ended by going back to waiting).
local function attempts_with(prev, attempt, started, ended, err, retry)
  local rec = '{"attempt":' .. attempt .. ',"started":' .. (started or 'null') .. ',"ended":' .. ended
    .. ',"error":' .. ((err and err ~= '') and err or 'null') .. (retry or '') .. '}'
  if prev and string.sub(prev, 1, 1) == '[' and string.sub(prev, -1) == ']' and #prev > 2 then
    return string.sub(prev, 1, -2) .. ',' .. rec .. ']'
  end
  return '[' .. rec .. ']'
end

-- A move out of an ended state (a retry) starts a new attempt: the fields
-- that record the ended one (`attempts` + 1 entry, `attempt` + 1) added to
-- `fields`.  A job made without a queue is on its first attempt until then.
local function next_attempt(h, fields, now)
  local f = redis.call('HMGET', JOB, 'attempt', 'attempts', 'ended', 'error')
  local attempt = tonumber(f[1] or '') or 1
  local ended = tonumber(f[3] or '') or now
  local err = f[4]
  if err and not pcall(cjson.decode, err) then err = nil end  -- never copy malformed JSON into the list
  fields[#fields + 1] = 'attempts'
  local retry = ',"state":"' .. h.state .. '","retried":' .. now
  fields[#fields + 1] = attempts_with(f[2], attempt, h.started, ended, err, retry)
  fields[#fields + 1] = 'attempt'
  fields[#fields + 1] = attempt + 1
end

-- The running job `h` whose attempt just failed with `err` (JSON text):
-- when it is a queued job with retries left that can run again before it
-- expires, put it back on its queue after its backoff, with the attempt
-- recorded in `attempts`, and return true (the "requeue" change of OUTSIDE in
-- transitions.py).  Else return false having written nothing: the caller
-- fails it for good.  Fields it cannot read mean no retry.  `ended`: when
-- the attempt ended, if not `now` (the deadline of a stalled attempt).
local function requeue(h, now, err, ended)
  local q = redis.call('HMGET', JOB, 'queue', 'attempt', 'retries', 'backoff', 'attempts')
  local attempt, retries, backoff = tonumber(q[2] or ''), tonumber(q[3] or ''), tonumber(q[4] or '')
  if not q[1] or not attempt or not retries or not backoff or attempt > retries then return false end
  local expires = tonumber(h.expires)
  local ready = now + backoff
  if ready >= expires then return false end
  local rec = attempts_with(q[5], attempt, h.started, ended or now, err)
  redis.call('HDEL', JOB, 'started', 'lease', 'beat', 'max_runtime', 'progress', 'error', 'ended')
  local fields = {'state', REQUEUE_TO, 'attempt', attempt + 1, 'attempts', rec, 'ready', ready}
  if TOKEN ~= '' then
    fields[#fields + 1] = 'token'
    fields[#fields + 1] = TOKEN
  end
  redis.call('HSET', JOB, unpack(fields))
  if h.lease or h.max_runtime then redis.call('ZREM', DUE, ID) end
  redis.call('ZREM', QUEUE, rmember(q[1], expires, ID))
  index_move(h.state, REQUEUE_TO, expires, now, group_of(h))
  enqueue(q[1], ready, expires, now, qpriority(h.priority))
  emit(REQUEUE_TO, now, nil, 'error', err)
  h.state, h.ready = REQUEUE_TO, tostring(ready)
  return true
end

-- If a running job has outlived its lease or its maximum run time, fail it
-- now (reason "stalled" or "timeout") and return the state it has after.
-- This is the move made outside the table of transitions.py (its OUTSIDE).
-- `h`: the job's fields as read by `head()` and passed by `malformed()`:
-- every number it uses has been checked, so nothing here can fail after
-- the first write.
local function settle(h, now)
  if h.state ~= SETTLE_FROM then return h.state end
  local lease, beat, maxrt, started = tonumber(h.lease), tonumber(h.beat), tonumber(h.max_runtime), tonumber(h.started)
  local lease_due = lease and beat and (beat + lease) or nil
  local rt_due = maxrt and started and (started + maxrt) or nil
  local reason, message, at
  if rt_due and rt_due <= now and (not lease_due or rt_due <= lease_due) then
    reason, at = 'timeout', rt_due
    message = 'ran longer than its maximum run time of ' .. (maxrt / 1000) .. ' s'
  elseif lease_due and lease_due <= now then
    reason, at = 'stalled', lease_due
    message = 'no heartbeat within its lease of ' .. (lease / 1000) .. ' s'
  else
    return h.state
  end
  local err = cjson.encode({reason = reason, message = message})
  -- It ended at that deadline (`at`), whenever a reader notices; its
  -- event is stamped now (a stream's ids only grow).
  if requeue(h, now, err, at) then return h.state end  -- a queued job with retries left
  move(h, SETTLE_TO, now, {'error', err}, {stamped = at})
  emit(h.state, now, nil, 'error', err)
  return h.state
end

-- True when the last call recorded on the job carries this call's token:
-- the call is a replay (redis-py retried it) and already took effect.
local function is_replay()
  return TOKEN ~= '' and redis.call('HGET', JOB, 'token') == TOKEN
end

-- Move index entries of expired records (score < now) into the shard's
-- tombstones, at most `batch` per state; keep the newest `cap` tombstones,
-- none older than the tombstone lifetime.  Only entries that can survive
-- the trim are added, so a small tombstone set stays a compact listpack.
-- `only`: the one state whose index to clean (nil: every state).
-- Returns how many index entries it removed.
local function cleanup(now, batch, cap, only)
  local moved = 0
  for state, i in pairs(IDX) do
    local gone = {}
    if not only or only == state then
      gone = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', '(' .. now, 'WITHSCORES', 'LIMIT', 0, batch)
    end
    if #gone > 0 then
      local ids, pairs_ = {}, {}
      local first_kept = #gone - 2 * cap + 1  -- only the newest `cap` can survive the trim
      for j = 1, #gone, 2 do
        ids[#ids + 1] = gone[j]
        if j >= first_kept then
          pairs_[#pairs_ + 1] = gone[j + 1]
          pairs_[#pairs_ + 1] = gone[j]
        end
      end
      redis.call('ZREM', KEYS[i], unpack(ids))
      if HOLDS[state] == 'due' then redis.call('ZREM', DUE, unpack(ids)) end
      for _, id in ipairs(ids) do unindex(id, state, now) end
      redis.call('ZADD', TOMB, unpack(pairs_))
      moved = moved + #ids
    end
  end
  if moved > 0 then
    redis.call('ZREMRANGEBYSCORE', TOMB, '-inf', '(' .. (now - TOMB_TTL))
    redis.call('ZREMRANGEBYRANK', TOMB, 0, -(cap + 1))
    keep_until(TOMB, now + TOMB_TTL, now)
  end
  return moved
end
