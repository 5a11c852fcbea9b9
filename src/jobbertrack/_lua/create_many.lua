--! flags:
--! include: _states _lib _groups
--! keys: layout+
-- create_many: make several new jobs of one shard in the state INITIAL
-- ("waiting"), in one call (Handler.create_many sends one such call per
-- shard per batch).
-- KEYS[1..NKEYS]  the shard layout of _states.lua (1 the shard's job-key
--                 prefix, untouched; 2 due, 3 events, 4 tomb, 5.. indexes)
-- KEYS[NKEYS+1..] the job hashes, one per id (the last ARGV)
-- ARGV[1..4]: '', token (one for the whole call), event cap, tombstone
--             lifetime ms (see _lib.lua)
-- ARGV[5..7]  as create: lifetime ms, tombstones per shard, cleanup batch
-- ARGV[8..]   the fields set at create, field, value pairs as create (the
--             same for every job), then the job ids: as many as job hashes
-- Returns {'ok', created_ms, expires_ms} (also for a replay of this very
-- call), or {'exists', id} when an id is taken: then nothing was written.
local n = #KEYS - NKEYS
local given = create_fields(8, #ARGV - n)
if given.err then return given.err end
local now = now_ms()
for i = 1, n do
  if redis.call('EXISTS', KEYS[NKEYS + i]) == 1 then
    local f = redis.call('HMGET', KEYS[NKEYS + i], 'token', 'created', 'expires')
    if TOKEN ~= '' and f[1] == TOKEN then return {'ok', f[2], f[3]} end  -- a replay
    return {'exists', ARGV[#ARGV - n + i]}
  end
end
local expires = now + tonumber(ARGV[5])
local gid = group_given(given)
if gid then  -- children live no longer than their group
  local capped, refused_by = group_admit(gid, expires)
  if not capped then return refused_by end
  expires = capped
end
cleanup(now, tonumber(ARGV[7]), tonumber(ARGV[6]))
local fields = {'state', INITIAL, 'created', now, 'expires', expires, 'token', TOKEN}
for _, f in ipairs(given.fields) do fields[#fields + 1] = f end
fields = with_data(fields, given.data ~= nil, given.data, 'data')
local named = {}
for i = 1, #given.fields, 2 do named[given.fields[i]] = given.fields[i + 1] end
local tags = tags_of(named.tags)
local meta = {}
if named.name then meta.n = named.name end
if #tags > 0 then meta.t = tags end
if gid then meta.g = gid end
meta = next(meta) and cjson.encode(meta) or nil
-- the indexes every job joins (docs/data-model.md, "Finding jobs"): key ->
-- pending score, member pairs (`meta`: field, value pairs), sent 1000 at a time
local adds = {[KEYS[IDX[INITIAL]]] = {}, [BY_CREATED] = {}, [created_key(INITIAL)] = {}}
local segments = named.name and name_segments(named.name) or {}
if named.name then adds[NAMES] = {} end
for _, segment in ipairs(segments) do adds[segment_key(segment)] = {} end
for _, tag in ipairs(tags) do adds[tag_key(tag)] = {} end
if gid then
  adds[open_key(gid)] = {}
  adds[ingroup_key(gid)] = {}
end
local metas = {}
local function flush(key, list, cmd)
  if #list > 0 then redis.call(cmd, key, unpack(list)) end
end
local function add(key, score, member)
  local list = adds[key]
  list[#list + 1] = score
  list[#list + 1] = member
  if #list >= 1000 then
    flush(key, list, 'ZADD')
    adds[key] = {}
  end
end
for i = 1, n do
  local id = ARGV[#ARGV - n + i]
  redis.call('HSET', KEYS[NKEYS + i], unpack(fields))
  redis.call('PEXPIREAT', KEYS[NKEYS + i], expires)
  xadd(now, 'job', id, 'state', INITIAL)
  add(KEYS[IDX[INITIAL]], expires, id)
  add(BY_CREATED, now, id)
  add(created_key(INITIAL), now, id)
  if named.name then add(NAMES, 0, named.name .. '\0' .. id) end
  for _, segment in ipairs(segments) do add(segment_key(segment), now, id) end
  for _, tag in ipairs(tags) do add(tag_key(tag), now, id) end
  if gid then
    add(open_key(gid), expires, id)
    add(ingroup_key(gid), 0, ingroup_entry(now, id))
  end
  if meta then
    metas[#metas + 1] = id
    metas[#metas + 1] = meta
    if #metas >= 1000 then
      flush(META, metas, 'HSET')
      metas = {}
    end
  end
end
for key, list in pairs(adds) do
  flush(key, list, 'ZADD')
  keep_until(key, expires + TOMB_TTL, now)
end
if meta then
  flush(META, metas, 'HSET')
  keep_until(META, expires + TOMB_TTL, now)
end
for _, key in ipairs(tallies(nil, tags)) do
  redis.call('HINCRBY', key, INITIAL, n)
  keep_until(key, expires + 2 * TOMB_TTL, now)
end
if gid then
  redis.call('HINCRBY', group_key(gid), 'n:total', n)
  redis.call('HINCRBY', group_key(gid), 'n:' .. INITIAL, n)
end
keep_until(EVENTS, expires, now)
return {'ok', now, expires}
