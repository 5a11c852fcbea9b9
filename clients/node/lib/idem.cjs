'use strict';
// Idempotent create (docs/data-model.md, "Idempotent create"; the Python
// twins are src/jobbertrack/_core/idem.py and HandlerBase._keyed_plan):
// create(..., {key}) and push(..., {key}) make at most one live job per key.
// The key's entry, <ns>:{<tag>}:key:<K>, holds its job's id and expires
// with that job's record; it lives in the shard of crc32(K), the job in the
// shard of its id.  When both fall in one shard the create (or push) script
// gets the entry as one more KEYS and claims the key and makes the job in
// one step; otherwise `claim` on the key's shard points the entry at the new
// id first, the create script makes the job, and `claim` then stamps the
// entry with the job's expiry.  A caller that finds the entry naming a job
// that does not exist makes that very job itself, so racing callers (of
// either language) end with one job.  I/O is given (keyedCreate's `io`).
const { InvalidData, JobberTrackError } = require('./errors.cjs');
const { pyRepr } = require('./repr.cjs');

/** Longest idempotency key, in characters (MAX_KEY). */
const MAX_KEY = 200;
/** Rounds of a keyed create before it gives up (MAX_ROUNDS): each one a
 * lost race for a key whose job expired or was deleted meanwhile. */
const MAX_ROUNDS = 8;

const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

/** Python's type name of a value an argument check refuses. */
function pyType(value) {
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'boolean') return 'bool';
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'dict';
  return typeof value;
}

/** An idempotency key as stored: a non-empty printable string of at most
 * MAX_KEY characters, else InvalidData with Python's message (check_key). */
function checkKey(key) {
  if (typeof key !== 'string') throw new InvalidData(`key must be a str, not ${pyType(key)}`);
  const length = [...key].length;
  if (!key || length > MAX_KEY) throw new InvalidData(`key must be 1 to ${MAX_KEY} characters, not ${length}`);
  // Python names a lone surrogate unprintable before it finds it cannot encode it
  if (/[\p{C}\p{Z}]/u.test(key.replaceAll(' ', ''))) {
    throw new InvalidData(`key must be printable text: ${pyRepr(key)}`);
  }
  if (!key.isWellFormed()) throw new InvalidData(`key must be valid unicode text: ${pyRepr(key)}`);
  return key;
}

function claimKeys(commands, key) {
  const keys = commands.keys;
  return [...keys.shardKeys(keys.keyShard(key)), keys.keyEntry(key)];
}

/** Point `key` at `id` unless it names another job (`stale`: the id of a
 * dead job it may still name, replaced as if absent). */
function claimCall(commands, key, id, lifetimeMs, stale = '') {
  const args = [...commands.head(id, ''), String(lifetimeMs), stale, ''];
  return { script: 'claim', keys: claimKeys(commands, key), args, id };
}

/** Once `id` is made: its entry expires with its record. */
function stampCall(commands, key, id, expiresMs) {
  const args = [...commands.head(id, ''), '1', '', String(expiresMs)];
  return { script: 'claim', keys: claimKeys(commands, key), args, id };
}

/** Whether the key's entry and the job share a shard: then the create
 * script claims the key itself (withEntry). */
const sameShard = (commands, key, id) => commands.keys.keyShard(key) === commands.keys.shardOf(id);

/** A create or push call that also claims `key`, in the same script. */
const withEntry = (commands, call, key) => ({ ...call, keys: [...call.keys, commands.keys.keyEntry(key)] });

/** The job id a {'taken', id} reply names (null for another reply). */
function takenBy(reply) {
  if (!Array.isArray(reply) || text(reply[0]) !== 'taken') return null;
  return text(reply[1] ?? '') || null;
}

/**
 * A keyed create or push: the job `key` names while it lives, with
 * `existed` true and nothing written; else a new one, made by
 * `makeCall(job)` (which checks every argument, before anything is sent).
 * `io`: {fresh(): a new adopted resource of the factory (a promise),
 * named(id): an adopted resource for an id claimed but not made,
 * run(call): the call's reply, read(id): the job or null}.
 */
async function keyedCreate(commands, io, key, makeCall, lifetimeMs) {
  let job = await io.fresh();
  let call = makeCall(job);
  let stale = ''; // a dead job the entry may still name
  let claim = true;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const same = sameShard(commands, key, job.id);
    let found = null;
    if (claim && (stale || !same)) found = takenBy(await io.run(claimCall(commands, key, job.id, lifetimeMs, stale)));
    if (found === null) {
      const reply = await io.run(same ? withEntry(commands, call, key) : call);
      const code = text(reply[0]);
      if (code === 'ok') {
        job._apply(call, reply);
        if (!same) await io.run(stampCall(commands, key, job.id, job._fields.expires)); // expires with the record
        job._existed = false;
        return job;
      }
      if (code === 'expired' || code === 'deleted') { // the id was a job once: a new one
        stale = job.id;
        claim = true;
        job = await io.fresh();
        call = makeCall(job);
        continue;
      }
      found = takenBy(reply) ?? (code === 'exists' ? job.id : null);
      if (found === null) job._apply(call, reply); // rejects with what the reply means
    }
    const existing = await io.read(found);
    if (existing !== null && existing._fields.key === key) {
      existing._existed = true;
      return existing;
    }
    if (existing !== null) { // the entry names a job made without this key
      stale = found;
      claim = true;
      job = await io.fresh();
    } else { // claimed, not made yet (or its claimer died): make that very job
      stale = '';
      claim = false;
      job = io.named(found);
    }
    call = makeCall(job);
  }
  throw new JobberTrackError(`the key ${pyRepr(key)} changed hands ${MAX_ROUNDS} times: gave up`);
}

module.exports = { MAX_KEY, MAX_ROUNDS, checkKey, claimCall, stampCall, sameShard, withEntry, takenBy, keyedCreate };
