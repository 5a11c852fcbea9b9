'use strict';
// Building script calls (docs/data-model.md, "Scripts"; the Python twin is
// Commands in src/jobbertrack/_core/calls.py).  Pure: no I/O.
const { randomInt } = require('node:crypto');
const { Keyspace, checkId } = require('./keys.cjs');
const { InvalidData, InvalidTimeout, JobberTrackError } = require('./errors.cjs');
const { MOVES, ALIVE, FIELDS } = require('./scripts.cjs');
const { checkTags } = require('./tags.cjs');

/** The move into each target state, with its name (ARGV 5 of `transition`;
 * Redis finds the rest of its row in the table it holds, _states.lua). */
const MOVE_INTO = Object.freeze(
  Object.fromEntries(Object.entries(MOVES).map(([name, move]) => [move.target, { name, ...move }])),
);

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32

function b32(value, width) {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

const PROCESS = b32(randomInt(2 ** 30), 6);
let idCounter = randomInt(2 ** 20);
let tokenCounter = 1;

/** A new unique, time-ordered id (new_id in _core/ids.py): 10 characters
 * of milliseconds, 6 of a per-process random number, 5 of a counter. */
function newId() {
  const n = idCounter++ % 2 ** 25;
  return b32(Date.now(), 10) + PROCESS + b32(n, 5);
}

/** A token unique to one call, so a replayed call can be recognised. */
function newToken() {
  return PROCESS + (tokenCounter++).toString(16);
}

/** Seconds (> 0) as whole milliseconds, at least 1 (duration_ms in _core/codec.py). */
function durationMs(value, what = 'timeout') {
  if (typeof value !== 'number') {
    // say what came: create("60") is the string "60", not the number 60
    const shown = typeof value === 'string' ? `the string ${JSON.stringify(value)}` : `${typeof value} ${String(value)}`;
    throw new InvalidTimeout(`${what} must be a number of seconds, not ${shown}`);
  }
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidTimeout(`${what} must be a finite number of seconds > 0, not ${String(value)}`);
  }
  if (value > 2 ** 52 / 1000) throw new InvalidTimeout(`${what} of ${value} s is too long`);
  return Math.ceil(value * 1000);
}

const optionalMs = (value, what) => (value === undefined || value === null ? null : durationMs(value, what));

/** A retry's delay (seconds, or none) as ms, null for none or 0 (as retry() in _core/calls.py). */
const delayMs = (value) => (value === undefined || value === null || value === 0 ? null : durationMs(value, 'delay'));

/** JSON text of `value`, or InvalidData (no JSON form, NaN/Infinity, text
 * that is not valid unicode, or over `limit` bytes of UTF-8). */
function encodeJson(value, what = 'data', limit = 1024 * 1024) {
  let text;
  try {
    text = JSON.stringify(value, (key, v) => {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${v} is not JSON`);
      if ((typeof v === 'string' && !v.isWellFormed()) || !key.isWellFormed()) {
        throw new Error('text that is not valid unicode');
      }
      return v;
    });
  } catch (err) {
    throw new InvalidData(`${what} must be JSON-serialisable: ${err.message}`);
  }
  if (text === undefined) throw new InvalidData(`${what} must be JSON-serialisable: ${typeof value}`);
  const size = Buffer.byteLength(text, 'utf8');
  if (size > limit) throw new InvalidData(`${what} is ${size} bytes of JSON, over the limit of ${limit} bytes`);
  return text;
}

/** The stored form of a failure given to fail() (error_details). */
/** The fields set at create (the manifest's `fields.create`: name, ...) as
 * field, value ARGV pairs; null and undefined set nothing.  Checked by kind
 * as Python's fields.py does; an option create does not take is refused. */
function createFields(given) {
  const out = [];
  for (const [field, value] of Object.entries(given)) {
    const rule = Object.hasOwn(FIELDS.create, field) ? FIELDS.create[field] : null;
    if (!rule) {
      throw new InvalidData(`create() takes data, ${Object.keys(FIELDS.create).join(', ')}; not ${field}`);
    }
    if (value === undefined || value === null) continue;
    if (rule.kind === 'tags') {
      const tags = checkTags(value);
      if (tags.length > 0) out.push(field, JSON.stringify(tags));
      continue;
    }
    if (rule.kind === 'text') {
      if (typeof value !== 'string') throw new InvalidData(`${field} must be a string, not ${typeof value}`);
      if (!value.isWellFormed()) throw new InvalidData(`${field} must be valid unicode text`);
      const length = [...value].length;
      if (rule.max_length !== null && length > rule.max_length) {
        throw new InvalidData(`${field} must be at most ${rule.max_length} characters, not ${length}`);
      }
    }
    out.push(field, String(value));
  }
  return out;
}

/** The longest message stored (MAX_ERROR_TEXT in _core/calls.py), in characters. */
const MAX_ERROR_TEXT = 16384;

function clip(text) {
  const chars = [...text];
  if (chars.length <= MAX_ERROR_TEXT) return text;
  return `${chars.slice(0, MAX_ERROR_TEXT).join('')} [... ${chars.length - MAX_ERROR_TEXT} characters cut ...] `;
}

/** The stored error of a cancelled job (cancel_details):
 * {reason: 'cancelled', message: reason || 'cancelled'}. */
function cancelDetails(reason) {
  if (reason !== undefined && reason !== null && typeof reason !== 'string') {
    throw new InvalidData(`a cancel's reason must be a string, not ${typeof reason}`);
  }
  return { reason: 'cancelled', message: reason ? clip(reason) : 'cancelled' };
}

function errorDetails(error) {
  const details = { reason: 'error', message: null };
  if (error instanceof Error) {
    const type = (error.constructor && error.constructor.name) || error.name || 'Error';
    details.type = type;
    details.message = error.message ? `${type}: ${error.message}` : type;
  } else if (error && typeof error === 'object') {
    Object.assign(details, error);
  } else if (error !== undefined && error !== null) {
    details.message = String(error);
  }
  return details;
}

function progressDetails(current, total = null, message = null) {
  for (const [name, value] of [['current', current], ['total', total]]) {
    if (name === 'total' && value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidData(`progress ${name} must be a finite number, not ${String(value)}`);
    }
  }
  if (message !== null && typeof message !== 'string') {
    throw new InvalidData(`progress message must be a string, not ${typeof message}`);
  }
  return { current, total, message };
}

function intOption(name, value, low, high) {
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new JobberTrackError(`${name} must be an integer from ${low} to ${high}, not ${value}`);
  }
}

/** The script calls of one namespace: {script, keys, args, ...}. */
class Commands {
  constructor({
    namespace = 'jt',
    shards = 16,
    maxEvents = 10000,
    tombstoneTtl = 86400,
    maxTombstones = 256,
    maxDataBytes = 1024 * 1024,
    cleanupBatch = 100,
  } = {}) {
    this.keys = new Keyspace(namespace, shards);
    intOption('maxEvents', maxEvents, 1, 1e9);
    intOption('maxTombstones', maxTombstones, 1, 1e7);
    intOption('maxDataBytes', maxDataBytes, 1, 512 * 2 ** 20);
    intOption('cleanupBatch', cleanupBatch, 1, 1e5);
    this.eventCap = Math.max(1, Math.ceil(maxEvents / shards));
    this.tombTtlMs = durationMs(tombstoneTtl, 'tombstoneTtl');
    this.tombCap = Math.max(1, Math.ceil(maxTombstones / shards));
    this.maxDataBytes = maxDataBytes;
    this.cleanupBatch = cleanupBatch;
  }

  /** ARGV 1-4, the same for every job script. */
  head(id, token) {
    return [id, token, String(this.eventCap), String(this.tombTtlMs)];
  }

  json(value, what = 'data') {
    return encodeJson(value, what, this.maxDataBytes);
  }

  /** `options`: data, and the fields set at create (the manifest's
   * `fields.create`, e.g. name), each checked by its kind; `key`: an
   * idempotency key checked by lib/idem.cjs, stored as the field `key`. */
  create(id, timeoutMs, { data, key, group, groupPairs, ...given } = {}) {
    const token = newToken();
    const stored = data === undefined ? null : this.json(data);
    const args = [...this.head(id, token), String(timeoutMs), String(this.tombCap), String(this.cleanupBatch)];
    args.push(...createFields(given));
    if (groupPairs) args.push(...groupPairs); // a group's own fields (lib/groups.cjs, groupFields)
    if (key !== undefined && key !== null) args.push('key', key);
    if (group !== undefined && group !== null) args.push('group', checkId(group)); // the group it joins
    if (stored !== null) args.push('data', stored);
    return { script: 'create', keys: this.keys.jobKeys(id), args, id, target: 'waiting', data: stored, clears: [] };
  }

  /** One `create_many` call per shard for `ids`: [[the shard's ids, call], ...]
   * (create_batches in _core/calls.py); ARGV as create's, then the ids. */
  createBatches(ids, timeoutMs, { data, group, ...given } = {}) {
    const stored = data === undefined ? null : this.json(data);
    const pairs = createFields(given);
    if (group !== undefined && group !== null) pairs.push('group', checkId(group)); // the group they join
    const byShard = new Map();
    for (const id of ids) {
      const shard = this.keys.shardOf(id);
      if (!byShard.has(shard)) byShard.set(shard, []);
      byShard.get(shard).push(id);
    }
    return [...byShard].map(([shard, shardIds]) => {
      const token = newToken();
      const keys = [...this.keys.shardKeys(shard), ...shardIds.map((id) => this.keys.jobKey(id))];
      const args = [...this.head('', token), String(timeoutMs), String(this.tombCap), String(this.cleanupBatch), ...pairs];
      if (stored !== null) args.push('data', stored);
      args.push(...shardIds);
      const sets = Object.fromEntries(pairs.flatMap((v, i) => (i % 2 ? [] : [[v, pairs[i + 1]]])));
      return [shardIds, { script: 'create_many', keys, args, id: '', target: 'waiting', token, data: stored, sets }];
    });
  }

  /** The move of the table into `target`; `delayMs`, of a retry: how long
   * before a job of a queue may be popped again (ARGV 8, as a lease). */
  transition(id, target, { data, error, leaseMs = null, maxRuntimeMs = null, delayMs = null } = {}) {
    const move = MOVE_INTO[target];
    const stored = data === undefined ? null : this.json(data);
    const args = [
      ...this.head(id, newToken()),
      move.name,
      stored ?? '',
      error === undefined ? '' : this.json(error, 'error'),
      leaseMs !== null ? String(leaseMs) : delayMs === null ? '' : String(delayMs),
      maxRuntimeMs === null ? '' : String(maxRuntimeMs),
    ];
    while (args[args.length - 1] === '') args.pop(); // ARGV 6-9 left out from the end mean ''
    const wakes = this.keys.wakeKey(''); // the reply may name a queue to wake (splitWoken)
    return { script: 'transition', keys: this.keys.jobKeys(id), args, id, target, data: stored, clears: move.clears, stores: 'result', wakes };
  }

  /** A heartbeat, or with `progress` a progress report (also a heartbeat). */
  touch(id, progress) {
    const args = this.head(id, newToken());
    if (progress !== undefined) args.push(this.json(progress, 'progress'));
    const action = progress === undefined ? 'renew its lease' : 'report progress';
    return { script: 'touch', keys: this.keys.jobKeys(id), args, id, target: ALIVE.join(' or '), data: null, clears: [], action };
  }

  /** Remove the job for good (a tombstone remembers it as deleted); with
   * `state` / `olderThanMs` only if it is in that state / ended that long ago. */
  delete(id, state = '', olderThanMs = null) {
    const args = [...this.head(id, ''), state, olderThanMs === null ? '' : String(olderThanMs), String(this.tombCap)];
    return { script: 'delete', keys: this.keys.jobKeys(id), args, id };
  }

  get(id) {
    return { script: 'get', keys: this.keys.jobKeys(id), args: this.head(id, ''), id };
  }

  /** One shard's sweep scan (sweep_shard): expired index entries to
   * tombstones, and up to `limit` due running jobs' ids. */
  sweepShard(shard, limit) {
    const args = ['', '', String(this.eventCap), String(this.tombTtlMs), String(this.tombCap), String(this.cleanupBatch), String(limit)];
    return { script: 'sweep', keys: this.keys.shardKeys(shard), args, id: '' };
  }

  /** A batch of the shard's jobs made before the finding indexes put into them (reindex_shard). */
  reindexShard(shard, batch) {
    const args = ['', '', String(this.eventCap), String(this.tombTtlMs), String(batch)];
    return { script: 'reindex', keys: this.keys.shardKeys(shard), args, id: '' };
  }

  /** The stall rule applied to one job (a peek's due ids). */
  settle(id) {
    return { script: 'settle', keys: this.keys.jobKeys(id), args: this.head(id, ''), id };
  }

  /** Read a group (its expired children counted first); `close`: close it
   * first, so no child may join (group in _core/calls.py). */
  group(id, close = false) {
    const args = [...this.head(checkId(id), ''), close ? 'close' : ''];
    return { script: 'group', keys: this.keys.jobKeys(id), args, id, target: '', wakes: this.keys.wakeKey('') };
  }

  /** Up to `want` ids of the group's live children (in `state`, '' = any),
   * newest first, after the `ingroup` entry `after`. */
  children(groupId, state, want, after, budget) {
    const args = [...this.head(checkId(groupId), ''), state, String(want), after, String(budget)];
    return { script: 'children', keys: this.keys.jobKeys(groupId), args, id: groupId };
  }

  status(id) {
    return { script: 'status', keys: this.keys.jobKeys(id), args: this.head(id, ''), id };
  }

  count(shard) {
    return { script: 'count', keys: this.keys.shardKeys(shard), args: [], id: '' };
  }
}

module.exports = {
  Commands,
  MOVES,
  MOVE_INTO,
  ALIVE,
  createFields,
  newId,
  newToken,
  durationMs,
  optionalMs,
  delayMs,
  encodeJson,
  errorDetails,
  cancelDetails,
  progressDetails,
};
