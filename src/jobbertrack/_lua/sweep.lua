--! flags:
--! include: _states _lib _groups
--! keys: layout
-- sweep: one shard's housekeeping, the first half of Handler.sweep().
-- KEYS: the shard layout of _states.lua (1 the shard's job-key prefix,
--       untouched; 2 due, 3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1..4]: '' , '', event cap, tombstone lifetime ms
-- ARGV[5]  tombstones kept per shard
-- ARGV[6]  cleanup batch: expired index entries moved per state
-- ARGV[7]  at most this many due ids returned
-- ARGV[8]  due ids to pass over first ('' or left out: none): the caller's
--          count of this shard's due jobs `settle` refused as corrupt,
--          which stay in `due` (the earliest, so they lead the range)
-- Returns {moved, {ids...}}: how many expired index entries became
-- tombstones, and the running jobs whose lease or maximum run time is due
-- (the caller then runs `settle` on each, with the job's own keys).
local now = now_ms()
local moved = cleanup(now, tonumber(ARGV[6]), tonumber(ARGV[5]))
local skip = tonumber(ARGV[8] or '') or 0
local due = redis.call('ZRANGEBYSCORE', DUE, '-inf', now, 'LIMIT', skip, tonumber(ARGV[7]))
return {moved, due}
