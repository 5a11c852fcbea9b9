'use strict';
// An operator's work on many jobs (src/jobbertrack/_bulk.py and
// _core/sweeping.py): sweep, retryAll and clean, as Python plans them, and
// the local copies of createMany's jobs (_created in _handler_base.py).
// I/O is given: `exec(calls)` runs script calls at once, `read(keys)` the
// records (HGETALL) at those keys.
//
// retryAll and clean page through one state's index with list()'s pages
// (every shard, latest expiry first, a cursor that survives the moves they
// make) and act on a page in one round of per-job scripts, each of which
// checks the job again (a retry is the table's compare-and-set; `delete`
// takes the state and the age it must have): a job that changed meanwhile
// is passed over, never acted on twice.
const { JobberTrackError, InvalidTimeout } = require('./errors.cjs');
const { durationMs } = require('./calls.cjs');
const { MOVES, manifest } = require('./scripts.cjs');
const { ListPlan, parseCursor } = require('./listing.cjs');
const { pyRepr } = require('./repr.cjs');

/** Jobs read and acted on per round (PAGE in _bulk.py). */
const PAGE = 200;
/** The most jobs one call acts on (MAX_LIMIT). */
const MAX_LIMIT = 1000000;
/** Due jobs one sweep scan returns per shard, and the most scan rounds (sweeping.py). */
const SWEEP_PAGE = 500;
const MAX_ROUNDS = 10000;

const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

const repr = pyRepr;

function checkLimit(limit) {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new JobberTrackError(`limit must be an int from 1 to ${MAX_LIMIT}, not ${repr(limit)}`);
  }
  return limit;
}

function oneState(state, allowed, what) {
  const names = [...allowed].sort();
  if (typeof state !== 'string' || !names.includes(state)) {
    const shown = `[${names.map((n) => `'${n}'`).join(', ')}]`;
    throw new JobberTrackError(`${what} takes a state of ${shown}, not ${repr(state)}`);
  }
  return state;
}

/** The state retryAll may retry from: one a retry leaves (retryable). */
const retryable = (state) => oneState(state, MOVES.retry.sources, 'retry_all');
/** The state clean may delete from: an ended one (cleanable). */
const cleanable = (state) => oneState(state, manifest.ended, 'clean');

const ok = (reply) => Array.isArray(reply) && reply.length > 0 && text(reply[0]) === 'ok';

/** The ids of one page of `state` and the next page's cursor (list_page). */
async function listPage(commands, exec, state, limit, cursor) {
  const plan = new ListPlan(commands.keys, [state], limit, parseCursor(cursor));
  const second = plan.afterFirst(await exec(plan.firstCalls()));
  if (second.length) plan.afterSecond(await exec(second));
  return plan.result();
}

/** clean()'s age as ms: 0 for any ended job, else seconds > 0. */
function olderThanMs(olderThan) {
  if (olderThan === undefined || olderThan === null) {
    throw new InvalidTimeout('clean() needs olderThan: the seconds since a job ended (0: any ended job)');
  }
  return olderThan === 0 ? 0 : durationMs(olderThan, 'older_than');
}

/** Retry up to `limit` jobs in `state` (of `queue` only, when given): how
 * many were retried, and the queues they went back on (retry_all). */
async function retryAll(commands, exec, read, state, queue, limit) {
  let retried = 0;
  let cursor = null;
  const queues = new Set();
  while (retried < limit) {
    let ids;
    [ids, cursor] = await listPage(commands, exec, state, Math.min(PAGE, limit - retried), cursor);
    const records = await read(ids.map((id) => commands.keys.jobKey(id)));
    const on = new Map();
    ids.forEach((id, i) => {
      const record = records[i];
      if (record && Object.keys(record).length) on.set(id, record.queue === undefined ? '' : text(record.queue));
    });
    const wanted = ids.filter((id) => on.has(id) && (queue === null || on.get(id) === queue));
    if (wanted.length) {
      const replies = await exec(wanted.map((id) => commands.transition(id, 'waiting', {})));
      const done = wanted.filter((_, i) => ok(replies[i]));
      retried += done.length;
      for (const id of done) if (on.get(id)) queues.add(on.get(id));
    }
    if (cursor === null) break;
  }
  return [retried, queues];
}

/** Delete up to `limit` jobs in the ended `state` that ended more than
 * `olderMs` ms ago, by Redis' clock, checked by each delete (clean). */
async function clean(commands, exec, state, olderMs, limit) {
  let deleted = 0;
  let cursor = null;
  while (deleted < limit) {
    // a page holds at most what is left to delete: never more than limit
    let ids;
    [ids, cursor] = await listPage(commands, exec, state, Math.min(PAGE, limit - deleted), cursor);
    if (ids.length) {
      const replies = await exec(ids.map((id) => commands.delete(id, state, olderMs)));
      deleted += replies.filter(ok).length;
    }
    if (cursor === null) break;
  }
  return deleted;
}

/** Jobs a `reindex` call looks at (REINDEX_BATCH in _plans.py). */
const REINDEX_BATCH = 1000;

/** First the jobs made before the finding indexes are put into them (once
 * per shard: `reindex` then says done at once), as Python's sweep does;
 * then, round after round (SweepPlan): scan every shard that may have more to
 * do (`sweep`: expired index entries to tombstones, due running jobs
 * returned), then `settle` each due job; a shard is scanned again only
 * while it returned a full page.  A job whose record is malformed (settle
 * replies {'corrupt', field}, writing nothing) is passed over by the later
 * scans of its shard.  The number of jobs this sweep failed. */
async function sweep(commands, exec, page = SWEEP_PAGE) {
  let shards = [...Array(commands.keys.shards).keys()];
  while (shards.length) {
    const done = await exec(shards.map((s) => commands.reindexShard(s, REINDEX_BATCH)));
    shards = shards.filter((_, i) => Number(done[i]) !== 1);
  }
  shards = [...Array(commands.keys.shards).keys()];
  const corrupt = new Map(); // job id -> the malformed field settle named
  const skip = new Map(); // shard -> its corrupt due jobs (ARGV[8] of sweep.lua)
  let failed = 0;
  for (let rounds = 0; rounds < MAX_ROUNDS && shards.length; rounds++) {
    const calls = shards.map((s) => {
      const call = commands.sweepShard(s, page);
      const n = skip.get(s) || 0;
      return n ? { ...call, args: [...call.args, String(n)] } : call;
    });
    const replies = await exec(calls);
    const again = [];
    const due = [];
    shards.forEach((shard, i) => {
      const [moved, ids] = replies[i];
      for (const raw of ids || []) if (!corrupt.has(text(raw))) due.push(text(raw));
      if (Number(moved) >= commands.cleanupBatch || (ids || []).length >= page) again.push(shard);
    });
    shards = again;
    const results = await exec(due.map((id) => commands.settle(id)));
    due.forEach((id, i) => {
      const result = results[i];
      if (Array.isArray(result)) {
        if (!corrupt.has(id)) {
          corrupt.set(id, result.length > 1 ? text(result[1]) : '?');
          const shard = commands.keys.shardOf(id);
          skip.set(shard, (skip.get(shard) || 0) + 1);
        }
      } else {
        failed += Number(result);
      }
    });
  }
  return failed;
}

/** Fill the local copies of a create_many round's jobs (`fill(id,
 * fields)`); [status, id] of the first refused batch ('exists', the id
 * taken), or null (_created in _handler_base.py). */
function createdFields(batches, replies, fill) {
  let refused = null;
  batches.forEach(([ids, call], i) => {
    const reply = replies[i];
    if (text(reply[0]) !== 'ok') {
      refused ??= [text(reply[0]), text(reply[1])];
      return;
    }
    const fields = { state: call.target, created: text(reply[1]), expires: text(reply[2]), token: call.token, ...call.sets };
    if (call.data !== null) fields.data = call.data;
    for (const id of ids) fill(id, fields);
  });
  return refused;
}

module.exports = {
  PAGE,
  MAX_LIMIT,
  checkLimit,
  retryable,
  cleanable,
  olderThanMs,
  retryAll,
  clean,
  sweep,
  createdFields,
};
