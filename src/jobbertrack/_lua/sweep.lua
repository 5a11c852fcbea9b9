-- sweep: one shard's housekeeping, the first half of Handler.sweep().
-- KEYS: the shard layout (KEYS[1] is the shard's job-key prefix, untouched;
--       2-5 indexes, 6 due, 7 events, 8 tomb; see _lib.lua)
-- ARGV[1..4]: '' , '', event cap, tombstone lifetime ms
-- ARGV[5]  tombstones kept per shard
-- ARGV[6]  cleanup batch: expired index entries moved per state
-- ARGV[7]  at most this many due ids returned
-- Returns {moved, {ids...}}: how many expired index entries became
-- tombstones, and the running jobs whose lease or maximum run time is due
-- (the caller then runs `settle` on each, with the job's own keys).
local now = now_ms()
local moved = cleanup(now, tonumber(ARGV[6]), tonumber(ARGV[5]))
local due = redis.call('ZRANGEBYSCORE', DUE, '-inf', now, 'LIMIT', 0, tonumber(ARGV[7]))
return {moved, due}
