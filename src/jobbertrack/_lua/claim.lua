--! flags:
--! include: _states
--! keys: layout+
-- claim: point an idempotency key at a job id, for a keyed create whose key
-- and job fall in two shards (docs/data-model.md, "Idempotent create"):
-- this script on the key's shard claims it, then create or push makes the
-- job on its own shard, then this script stamps the entry with the job's
-- expiry.  A keyed create whose key and job share a shard needs none of it.
-- KEYS: the shard layout of _states.lua for the key's shard (KEYS[1] the prefix
--       <ns>:{<tag>}:job:, never touched), then KEYS[NKEYS + 1] the key's
--       entry <ns>:{<tag>}:key:<key> (a string: the job id)
-- ARGV[1]  the job id; ARGV[2..4] as every script (not read)
-- ARGV[5]  the job's lifetime, ms (> 0): the claim's own, until the stamp
-- ARGV[6]  '' or the id of a dead job the entry may still name (replaced
--          as if the entry were absent)
-- ARGV[7]  '' to claim; the job's `expires` (ms) to stamp the entry
-- Returns {'claimed'}, or {'taken', id} (nothing written) when the entry
--         names another job; a stamp {'stamped'}, or {'taken', id or ''}
--         when the entry no longer names the job (left as it is).
local entry, id, lifetime = KEYS[NKEYS + 1], ARGV[1], tonumber(ARGV[5])
if entry == nil or KEYS[NKEYS + 2] ~= nil or string.sub(entry, 1, #JOB) ~= string.sub(JOB, 1, -5) .. 'key:'
  or #ARGV ~= 7 or id == '' or not lifetime or lifetime <= 0 or (ARGV[7] ~= '' and not tonumber(ARGV[7])) then
  return redis.error_reply("ERR claim needs the key's entry in the shard's layout, an id, a lifetime, a dead id or '' and an expiry or ''")
end
local cur = redis.call('GET', entry)
if ARGV[7] ~= '' then
  if cur ~= id then return {'taken', cur or ''} end
  redis.call('PEXPIREAT', entry, tonumber(ARGV[7]))
  return {'stamped'}
end
if cur and cur ~= ARGV[6] then return {'taken', cur} end
redis.call('SET', entry, id, 'PX', lifetime)
return {'claimed'}
