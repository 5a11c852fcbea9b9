--! flags:
--! include: _states
--! keys: layout
-- pause: stop one queue's pops in one shard (issue 23); a client runs it on
-- every shard.  While the marker is there, pop.lua answers {'paused', ...}
-- and peek.lua shows no entry; pushes are still taken.
-- KEYS: the shard layout of _states.lua (1 the shard's job-key prefix,
--       untouched; 2 due, 3 events, 4 tomb, 5 queue, 6.. the state indexes)
-- ARGV[1]  queue name
-- The marker (\2 queue: pmember in _lib.lua) must outlive every entry, so
-- QUEUE loses its expiry until resume.lua; queue_add in _lib.lua leaves a
-- QUEUE without an expiry so.  Returns 1 if the marker is new, else 0.
local added = redis.call('ZADD', QUEUE, 0, '\2' .. ARGV[1])
redis.call('PERSIST', QUEUE)
return added
