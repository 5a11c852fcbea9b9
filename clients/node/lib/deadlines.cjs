'use strict';
// Deadlines of the blocking calls (src/jobbertrack/_core/deadlines.py), in
// seconds of this host's monotonic clock.  Pure: no I/O.
const { InvalidTimeout, CorruptRecord } = require('./errors.cjs');

/** Longer than this is for ever (FOREVER_S). */
const FOREVER_S = 1e9;
/** Longest single XREAD BLOCK (CHUNK_MS): stays under socket timeouts. */
const CHUNK_MS = 1000;

/** This host's monotonic clock, in seconds. */
const monotonic = () => performance.now() / 1000;

const isSeconds = (value) => typeof value === 'number' && !Number.isNaN(value) && value >= 0;

/** When a wait(timeout) gives up (Infinity: never; wait_deadline). */
function waitDeadline(timeout, now) {
  if (timeout === undefined || timeout === null) return Infinity;
  if (!isSeconds(timeout)) {
    throw new InvalidTimeout(`wait timeout must be a number of seconds >= 0, not ${String(timeout)}`);
  }
  return timeout > FOREVER_S ? Infinity : now + timeout;
}

/** When waiting for a next job or event stops (Infinity: never; null:
 * block=null, do not wait; block_deadline). */
function blockDeadline(block, now) {
  if (block === undefined || block === null) return null;
  if (!isSeconds(block)) {
    throw new InvalidTimeout(`block must be a number of seconds >= 0 (0: for ever), not ${String(block)}`);
  }
  return block === 0 || block > FOREVER_S ? Infinity : now + block;
}

/** How long the next blocking read may block (chunk_ms). */
function chunkMs(deadline, now) {
  if (deadline === Infinity) return CHUNK_MS;
  return Math.max(1, Math.min(CHUNK_MS, Math.floor((deadline - now) * 1000)));
}

/** A running job's lease and run-time deadlines, in ms of Redis' clock (run_deadlines). */
function runDeadlines(fields) {
  if (fields.state !== 'running') return [];
  const out = [];
  if ('lease' in fields && 'beat' in fields) out.push(Number(fields.beat) + Number(fields.lease));
  if ('max_runtime' in fields && 'started' in fields) out.push(Number(fields.started) + Number(fields.max_runtime));
  return out;
}

/** When to look at a job again while waiting for it (wake_at): `until`,
 * or earlier when its record expires or its lease or run time runs out. */
function wakeAt(id, fields, problems, until, now) {
  const found = problems.length ? problems : /^\d{1,20}$/.test(fields.expires ?? '') ? [] : [{ field: 'expires' }];
  if (found.length) throw new CorruptRecord(id, found[0].field);
  const redisMs = Math.min(Number(fields.expires), ...runDeadlines(fields)) + 5;
  return Math.min(until, now + (redisMs - Date.now()) / 1000);
}

module.exports = { FOREVER_S, CHUNK_MS, monotonic, waitDeadline, blockDeadline, chunkMs, wakeAt };
