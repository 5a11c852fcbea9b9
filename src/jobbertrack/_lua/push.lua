--! flags:
--! include: _states _lib _groups
--! keys: layout+
-- push: make a new job in the state INITIAL ("waiting") and put it on a work
-- queue, in one step (the "push" change of OUTSIDE in transitions.py).
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5 queue, 6.. the state indexes)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  lifetime of the record, ms (> 0)
-- ARGV[6]  queue name (no NUL byte)
-- ARGV[7]  delay, ms (>= 0, less than the lifetime): poppable from now + delay
-- ARGV[8]  retries: attempts allowed after the first one fails (>= 0)
-- ARGV[9]  backoff, ms (>= 0): how long a failed attempt waits before the next
-- ARGV[10] priority: an integer from -999999 to 999999 (higher pops first;
--          '' = 0); kept on the job as `priority` when it is not 0
-- ARGV[11..] the fields set at create, field, value pairs as create.lua
-- A keyed create gives the field `key` (its idempotency key) and, when the
-- key's entry is in this shard, that entry as KEYS[NKEYS + 1]: the key is
-- then claimed in the same step (`key_entry` in _lib.lua).  It also refuses
-- an id that was a job once ({'expired'} / {'deleted'}), and replies
-- {'taken', id} when the entry names another job.  Nothing written then.
-- Returns {'ok', fields, 1}: the fields written (flat, without data), or
--         {'exists'} when the id is taken, or {'ok', fields} with the whole
--         record (without data and result) for a replay of this very call.
local given = create_fields(11, #ARGV)
if given.err then return given.err end
local key, entry, refused = key_entry(given)
if refused then return refused end
local queue, lifetime, delay = ARGV[6], tonumber(ARGV[5]), tonumber(ARGV[7])
if queue == '' or string.find(queue, '\0', 1, true) or not lifetime or not delay or delay >= lifetime
  or not tonumber(ARGV[8]) or not tonumber(ARGV[9]) then
  return redis.error_reply('ERR push needs a queue name, a lifetime, a delay below it, retries and backoff')
end
local priority = qpriority(ARGV[10])
if ARGV[10] ~= '' and tostring(priority) ~= ARGV[10] then
  return redis.error_reply('ERR push: the priority must be an integer from -999999 to 999999')
end
local now = now_ms()
if redis.call('EXISTS', JOB) == 1 then
  if is_replay() then return {'ok', snapshot(false)} end  -- answer as the first call did
  return {'exists'}
end
local dead = key_dead(key)
if dead then return dead end
local expires = now + lifetime
local capped, refused_by = group_join(given, expires)  -- a child lives no longer than its group
if not capped then return refused_by end
expires = capped
local ready = now + delay
local fields = {'state', INITIAL, 'created', now, 'expires', expires, 'queue', queue, 'attempt', 1,
  'retries', ARGV[8], 'backoff', ARGV[9], 'ready', ready}
if priority ~= 0 then
  fields[#fields + 1] = 'priority'
  fields[#fields + 1] = priority
end
new_record(fields, given, expires, now)
key_point(entry, expires)
enqueue(queue, ready, expires, now, priority)
emit(INITIAL, now, expires)
return {'ok', fields, 1}
