--! flags:
--! include: _states _lib _groups
--! keys: layout+
-- create: make a new job in the state INITIAL ("waiting"; a move made
-- outside the table of transitions.py).
-- KEYS: the job layout of _states.lua (1 job, 2 due, 3 events, 4 tomb,
--       5 queue, 6.. the state indexes)
-- ARGV[1..4]: id, token, event cap, tombstone lifetime ms (see _lib.lua)
-- ARGV[5]  lifetime of the record, ms (> 0)
-- ARGV[6]  tombstones kept per shard
-- ARGV[7]  cleanup batch: expired index entries of one state (chosen in
--          turn) moved to the tombstones per call
-- ARGV[8..] the fields set at create, as field, value pairs: `name` (a
--          label), `data` (JSON text) ... written as given.  None may be
--          a field the script sets itself (state, created, expires, token).
-- A keyed create gives the field `key` (its idempotency key) and, when the
-- key's entry is in this shard, that entry as KEYS[NKEYS + 1]: the key is
-- then claimed in the same step (`key_entry` in _lib.lua).  It also refuses
-- an id that was a job once ({'expired'} / {'deleted'}), and replies
-- {'taken', id} when the entry names another job.  Nothing written then.
-- Returns {'ok', fields, 1}: the fields written (flat, without data), or
--         {'exists'} when the id is taken, or {'ok', fields} with the whole
--         record (without data and result) for a replay of this very call.
local given = create_fields(8, #ARGV)
if given.err then return given.err end
local key, entry, refused = key_entry(given)
if refused then return refused end
local now = now_ms()
if redis.call('EXISTS', JOB) == 1 then
  if is_replay() then return {'ok', snapshot(false)} end  -- answer as the first call did
  return {'exists'}
end
local dead = key_dead(key)
if dead then return dead end
local expires = now + tonumber(ARGV[5])
local capped, refused_by = group_join(given, expires)  -- a child lives no longer than its group
if not capped then return refused_by end
expires = capped
-- one create in four (by the clock's microseconds, which no caller's period
-- lines up with) tidies one state's index, a batch at a time: far more than
-- jobs can expire between them (sweep does all)
if NOW_US % 16 < 4 then
  cleanup(now, tonumber(ARGV[7]), tonumber(ARGV[6]), STATES[1 + NOW_US % #STATES])
end
local fields = {'state', INITIAL, 'created', now, 'expires', expires}
new_record(fields, given, expires, now)
key_point(entry, expires)
emit(INITIAL, now, expires)
return {'ok', fields, 1}
