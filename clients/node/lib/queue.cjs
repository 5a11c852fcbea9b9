'use strict';
// The work queue (src/jobbertrack/_core/queue.py; docs/data-model.md,
// "Work queue"): checks, the script calls of push, popAndStart and queued,
// and the pop as Python plans it: a pipelined `peek` of every shard, then
// `pop` of one ready first entry, which re-checks everything and starts
// the job in one script.  I/O is given: `exec(calls)` runs calls at once.
const { randomInt } = require('node:crypto');
const { JobberTrackError } = require('./errors.cjs');
const { durationMs, newToken } = require('./calls.cjs');
const { checkId } = require('./keys.cjs');
const { pyRepr } = require('./repr.cjs');

/** Longest queue name (MAX_QUEUE). */
const MAX_QUEUE = 200;
/** How often an idle worker looks at the shards when nothing woke it (IDLE_RESCAN_S). */
const IDLE_RESCAN_S = 5;
/** Due running jobs a peek returns per shard (DUE_BATCH). */
const DUE_BATCH = 20;
/** Longest time a handler pops from its hints without peeking every shard (HINT_TTL_S). */
const HINT_TTL_S = 1;

const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

function checkQueue(queue) {
  if (typeof queue !== 'string' || !queue || [...queue].length > MAX_QUEUE) {
    throw new JobberTrackError(
      `queue must be a non-empty str of at most ${MAX_QUEUE} characters, not ${pyRepr(queue)}`,
    );
  }
  // Python names a lone surrogate unprintable before it finds it cannot encode it
  if (/[\p{C}\p{Z}]/u.test(queue.replaceAll(' ', ''))) {
    throw new JobberTrackError(`queue must be printable text: ${pyRepr(queue)}`);
  }
  if (!queue.isWellFormed()) throw new JobberTrackError(`queue must be valid unicode text: ${pyRepr(queue)}`);
  return queue;
}

function checkRetries(retries) {
  if (!Number.isInteger(retries) || retries < 0 || retries > 10000) {
    throw new JobberTrackError(`retries must be an int from 0 to 10000, not ${String(retries)}`);
  }
  return retries;
}

/** Seconds >= 0 (none: 0) as whole ms (seconds_ms). */
const secondsMs = (value, what) => (value === undefined || value === null || value === 0 ? 0 : durationMs(value, what));

/** Highest priority (and minus the lowest) a push may give (PRIORITY_MAX). */
const PRIORITY_MAX = 999999;

function checkPriority(priority) {
  if (!Number.isInteger(priority) || priority < -PRIORITY_MAX || priority > PRIORITY_MAX) {
    throw new JobberTrackError(`priority must be an int from ${-PRIORITY_MAX} to ${PRIORITY_MAX}, not ${String(priority)}`);
  }
  return priority;
}

// A waiting entry is queue NUL level ready(15) NUL expires(15) NUL id, level
// '' for priority 0, '!' + 6 digits (PRIORITY_MAX - p) + NUL for p > 0, '~'
// + 6 digits (-p - 1) + NUL for p < 0 (qmember in _lib.lua).
const readyAt = (member, queue) => {
  const mark = member.slice(queue.length + 1, queue.length + 2);
  return queue.length + (mark === '!' || mark === '~' ? 9 : 1);
};

/** The ready time (ms) in a queue entry, its priority and its job id. */
const entryReady = (member, queue) => {
  const at = readyAt(member, queue);
  return Number(member.slice(at, at + 15));
};
function entryPriority(member, queue) {
  const mark = member.slice(queue.length + 1, queue.length + 2);
  const digits = Number(member.slice(queue.length + 2, queue.length + 8));
  if (mark === '!') return PRIORITY_MAX - digits;
  if (mark === '~') return -digits - 1;
  return 0;
}
const entryId = (member, queue) => member.slice(readyAt(member, queue) + 32);

function pushCall(commands, id, timeoutMs, queue, delayMs, retries, backoffMs, data, fieldPairs, priority = 0) {
  if (delayMs >= timeoutMs) {
    throw new JobberTrackError(`delay (${delayMs} ms) must be shorter than the timeout (${timeoutMs} ms)`);
  }
  const stored = data === undefined ? null : commands.json(data);
  const args = [
    ...commands.head(id, newToken()),
    String(timeoutMs), queue, String(delayMs), String(retries), String(backoffMs), String(priority),
    ...fieldPairs,
  ];
  if (stored !== null) args.push('data', stored);
  return { script: 'push', keys: commands.keys.jobKeys(id), args, id, target: 'waiting', data: stored, clears: [] };
}

function popCall(commands, member, queue, leaseMs, maxrtMs) {
  const id = checkId(entryId(member, queue));
  const args = [
    ...commands.head(id, newToken()),
    queue, member, leaseMs === null ? '' : String(leaseMs), maxrtMs === null ? '' : String(maxrtMs),
  ];
  return { script: 'pop', keys: commands.keys.jobKeys(id), args, id, target: 'running' };
}

function peekCalls(commands, queue) {
  const args = [...commands.head('', ''), queue, String(DUE_BATCH)];
  return Array.from({ length: commands.keys.shards }, (_, s) => ({
    script: 'peek', keys: commands.keys.shardKeys(s), args, id: '',
  }));
}

function queuedCalls(commands, queue) {
  return Array.from({ length: commands.keys.shards }, (_, s) => ({
    script: 'queued', keys: commands.keys.shardKeys(s), args: [queue], id: '',
  }));
}

/** Where an entry stands in its queue across shards: highest priority,
 * then ready time, then id (entry_order). */
function entryBefore(a, b, queue) {
  const pa = entryPriority(a, queue);
  const pb = entryPriority(b, queue);
  if (pa !== pb) return pa > pb;
  const ra = entryReady(a, queue);
  const rb = entryReady(b, queue);
  if (ra !== rb) return ra < rb;
  return entryId(a, queue) < entryId(b, queue);
}

/** How long a handler that lost a race for an entry takes random ones (s). */
const CONTENDED_S = 1.0;

/** What one handler saw of one queue: entries ready at its last peek or
 * pop, tried before peeking every shard again (Hints).  `take` gives the
 * oldest (FIFO across shards for one worker); for a while after a lost
 * race, the next entry of the shard it popped from last, else a random one,
 * so that many workers spread over the shards, each draining its own. */
class Hints {
  constructor() {
    this.ready = [];
    this.peeked = -Infinity; // monotonic seconds of the last peek
    this.contended = -Infinity; // monotonic seconds of the last lost race
    this.sticky = null; // the next entry of the shard this handler last popped from
  }

  take(queue, now) {
    if (!this.ready.length) return null;
    if (now - this.contended < CONTENDED_S) {
      // contended: stay on the shard it popped from last, else a random one
      const at = this.sticky === null ? -1 : this.ready.indexOf(this.sticky);
      return this.ready.splice(at >= 0 ? at : randomInt(this.ready.length), 1)[0];
    }
    let first = 0;
    for (let i = 1; i < this.ready.length; i++) {
      if (entryBefore(this.ready[i], this.ready[first], queue)) first = i;
    }
    return this.ready.splice(first, 1)[0];
  }
}

/** Pop `member`, then the entries that follow it on its shard while they
 * are ready: [id, flat record], or null (_try). */
async function tryPop(commands, exec, queue, leaseMs, maxrtMs, member, hints, monoNow) {
  for (let tries = 0; tries < 8; tries++) {
    const [reply] = await exec([popCall(commands, member, queue, leaseMs, maxrtMs)]);
    const status = text(reply[0]);
    const now = Number(reply[reply.length - 1]);
    const next = text(reply[reply.length - 2]);
    if (status === 'paused') { // pause.lua: nothing of the queue is taken until resume
      hints.ready.length = 0;
      return null;
    }
    if (status === 'popped' || status === 'instead') { // instead: taken, the shard's first ready entry was
      hints.sticky = null;
      if (next && entryReady(next, queue) <= now) {
        hints.ready.push(next);
        hints.sticky = next;
      }
      return [entryId(status === 'instead' ? text(reply[2]) : member, queue), reply[1]];
    }
    if (status === 'taken') hints.contended = monoNow; // another worker took it: spread out for a while
    if (status === 'early' || !next || entryReady(next, queue) > now) return null;
    member = next;
  }
  return null;
}

/** The ready first entries of the shards, and in how many seconds each
 * other first entry becomes ready or a running job comes due (_read_peeks). */
function readPeeks(peeks, queue) {
  const ready = [];
  const later = [];
  for (const reply of peeks) {
    const now = Number(reply[0]);
    const first = text(reply[1]);
    const nextDue = text(reply[2]);
    if (first && entryReady(first, queue) <= now) ready.push(first);
    else if (first) later.push((entryReady(first, queue) - now) / 1000);
    if (nextDue) later.push(Math.max(0, (Math.floor(Number(nextDue)) - now) / 1000));
  }
  return [ready, later];
}

/** One attempt to pop (pop_plan): {popped: [id, flat record]} or
 * {popped: null, wakeIn}: in `wakeIn` seconds an entry becomes ready or a
 * running job comes due (null: nothing known; a push wakes the caller). */
async function popOnce(commands, exec, queue, leaseMs, maxrtMs, hints, monoNow) {
  if (monoNow - hints.peeked < HINT_TTL_S) {
    for (let member = hints.take(queue, monoNow); member !== null; member = hints.take(queue, monoNow)) {
      const popped = await tryPop(commands, exec, queue, leaseMs, maxrtMs, member, hints, monoNow);
      if (popped) return { popped, wakeIn: null };
    }
  }
  hints.peeked = monoNow;
  for (let round = 0; round < 3; round++) {
    let peeks = await exec(peekCalls(commands, queue));
    const due = peeks.flatMap((reply) => (reply[3] || []).map(text));
    if (due.length) {
      // the stall rule: a job with retries left goes back on its queue
      await exec(due.map((id) => commands.settle(id)));
      peeks = await exec(peekCalls(commands, queue));
    }
    const [ready, later] = readPeeks(peeks, queue);
    if (!ready.length) {
      hints.ready = [];
      return { popped: null, wakeIn: later.length ? Math.min(...later) + 0.002 : null };
    }
    hints.ready = ready;
    let popped = null;
    while (!popped) {
      const member = hints.take(queue, monoNow);
      if (member === null) break;
      popped = await tryPop(commands, exec, queue, leaseMs, maxrtMs, member, hints, monoNow);
    }
    if (popped) return { popped, wakeIn: null };
  }
  return { popped: null, wakeIn: 0 };
}

/** How a blocked popAndStart waits (Waiter in _queue_base.py): on the
 * queue's wake-up list until a token (a push: one worker per token), its
 * deadline, the next ready or due time the peeks saw, or its rescan time,
 * when one idle worker of the queue claims the rescan and looks at every
 * shard.  A worker a token woke passes a token on when it saw more jobs. */
class Waiter {
  constructor(until, now) {
    this.until = until; // monotonic deadline (Infinity: for ever), null: do not block
    this.rescanAt = now + IDLE_RESCAN_S;
    this.woken = false;
  }

  /** Until when to block; null: the caller's time is up. */
  blockUntil(wakeIn, now) {
    if (this.until === null || now >= this.until) return null;
    return Math.min(this.until, wakeIn === null ? Infinity : now + wakeIn, this.rescanAt);
  }

  /** 'pop' (peek again), 'claim' (claim the rescan, then 'pop' or block again) or 'done'. */
  afterWait(token, now) {
    if (token) {
      this.woken = true;
      return 'pop';
    }
    if (this.until !== null && now >= this.until) return 'done';
    if (now >= this.rescanAt) {
      this.rescanAt = now + IDLE_RESCAN_S;
      return 'claim';
    }
    return 'pop';
  }

  passOn(hints) {
    return this.woken && hints.ready.length > 0;
  }
}

/** How long a rescan claim holds (RESCAN_MS), ms. */
const RESCAN_MS = IDLE_RESCAN_S * 1000;

module.exports = {
  MAX_QUEUE,
  IDLE_RESCAN_S,
  checkQueue,
  checkRetries,
  checkPriority,
  PRIORITY_MAX,
  secondsMs,
  pushCall,
  queuedCalls,
  Hints,
  popOnce,
  Waiter,
  RESCAN_MS,
};
