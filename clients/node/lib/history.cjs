'use strict';
// A job's path through the state table, told from the time stamps of its
// record (src/jobbertrack/_core/history.py and attempt_steps in
// _core/attempts.py): Resource.history() and Handler.history(id).  Pure.
// Times are ISO 8601 UTC text to the ms, as getValue() writes them (Python
// gives datetimes of the same instants).
const { STATES, manifest } = require('./scripts.cjs');
const { readMs, readJson, isoOf, earlierAttempts } = require('./record.cjs');

/** The record field a move into the state stamps with Redis' time (ENTERED
 * in _core/transitions.py; a move into the initial state stamps nothing).
 * Not in the scripts' manifest: the stamps are the record's `fields.times`,
 * the states that stamp them the table's. */
const ENTERED = Object.freeze({ running: 'started', failed: 'ended', finished: 'ended', cancelled: 'ended' });
const STAMPS = [...new Set(Object.values(ENTERED))];
const INITIAL = manifest.initial;
const ALIVE = new Set(manifest.alive);

const enteredBy = (stamp) => Object.keys(ENTERED).find((s) => ENTERED[s] === stamp);

function readObject(raw) {
  const value = readJson(raw);
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
}

/** history() steps of the earlier attempts: for each, its start (waiting
 * -> running) and its end (running -> waiting for a requeued attempt, or
 * the state it was retried from, then back to waiting). */
function attemptSteps(fields) {
  const out = [];
  for (const item of earlierAttempts(fields)) {
    const [started, ended] = [item.started_at, item.ended_at];
    const error = item.error || {};
    const retried = 'state' in item;
    const to = retried ? item.state : 'waiting'; // a requeued attempt went back to waiting
    if (started !== null || !retried) out.push({ from: 'waiting', to: 'running', at: started, attempt: item.attempt });
    out.push({
      from: started === null && retried ? 'waiting' : 'running',
      to,
      at: ended,
      attempt: item.attempt,
      message: error.message ?? null,
      reason: error.reason ?? null,
    });
    if (retried) out.push({ from: to, to: 'waiting', at: item.retried_at ?? null, attempt: item.attempt });
  }
  return out;
}

/** The job's transitions, oldest first, from the times in its record:
 * {from, to, at}, plus `message` and `reason` (failures) and `progress`
 * (the last report, once the worker is done) on the last. */
function history(fields) {
  if (!('state' in fields)) return [];
  const current = STATES.includes(fields.state) ? fields.state : null; // null: not a state
  const out = [{ from: null, to: INITIAL, at: isoOf(readMs(fields.created)) }];
  out.push(...attemptSteps(fields)); // the earlier attempts of a pushed or retried job
  // table order breaks ties (a stable sort); a malformed stamp tells nothing
  const stamps = STAMPS.filter((f) => readMs(fields[f]) !== null).sort((a, b) => readMs(fields[a]) - readMs(fields[b]));
  for (const stamp of stamps) {
    const into = current !== null && ENTERED[current] === stamp ? current : enteredBy(stamp);
    out.push({ from: out[out.length - 1].to, to: into, at: isoOf(readMs(fields[stamp])) });
  }
  if (out.length > 1) details(out[out.length - 1], fields, current); // a job only created tells nothing more
  return out;
}

/** The failure, and the last progress report once the worker is done, belong
 * to the move into the state the job is in. */
function details(last, fields, current) {
  const error = readObject(fields.error);
  if (error && Object.keys(error).length) {
    last.message = error.message ?? null;
    last.reason = error.reason ?? null;
  }
  if ('progress' in fields && !ALIVE.has(current)) last.progress = readObject(fields.progress);
}

module.exports = { history, attemptSteps, ENTERED };
