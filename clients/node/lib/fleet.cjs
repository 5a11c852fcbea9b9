'use strict';
// The fleet seen from above (src/jobbertrack/_core/queue_view.py and
// _core/workers.py; docs/data-model.md): the queues of a namespace, one
// queue's numbers, pausing, and the worker registry.  Each queue call is
// one script per shard (`queues`, `qstats`, `pause`, `resume`), run at
// once; the shards' replies are merged here as Python merges them.  The
// registry is read as Python reads it: the id set, then each worker's
// record; the ids whose record expired (a killed worker) are dropped.
const { translate } = require('./errors.cjs');

/** The most queue names one shard reports (MAX_QUEUES). */
const MAX_QUEUES = 10000;

const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

/** Python's order of str (code points), not JS's (UTF-16 code units). */
function byCodePoint(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function shardCalls(keys, script, args) {
  return Array.from({ length: keys.shards }, (_, s) => ({ script, keys: keys.shardKeys(s), args, id: '' }));
}

const qstatsCalls = (keys, queue) => shardCalls(keys, 'qstats', [queue]);
const pauseCalls = (keys, queue) => shardCalls(keys, 'pause', [queue]);
const resumeCalls = (keys, queue) => shardCalls(keys, 'resume', [queue]);
const queuesCalls = (keys) => shardCalls(keys, 'queues', [String(MAX_QUEUES)]);

/** The shards' `qstats` replies as queueStats returns them (merge_qstats):
 * the counts summed, the longest wait of a ready job (seconds, 0 when none
 * is ready; each shard measures against its own clock), paused when any
 * shard holds the marker. */
function mergeQstats(queue, replies, workers) {
  let waiting = 0;
  let delayed = 0;
  let running = 0;
  let oldest = 0;
  let paused = false;
  for (const reply of replies) {
    const now = Number(reply[0]);
    waiting += Number(reply[1]);
    delayed += Number(reply[2]);
    running += Number(reply[3]);
    const first = text(reply[4] ?? '');
    if (first) oldest = Math.max(oldest, (now - Number(first)) / 1000);
    paused = paused || Number(reply[5]) === 1;
  }
  return { name: queue, waiting, delayed, running, oldest_wait_s: oldest, paused, workers };
}

/** The queues the registry's workers serve (served_queues). */
function servedQueues(workers) {
  return workers.flatMap((w) => (Array.isArray(w.queues) ? w.queues.filter((q) => typeof q === 'string') : []));
}

/** The shards' `queues` replies, with the queues live workers serve: every
 * name once, sorted (merge_queues). */
function mergeQueues(replies, workerQueues = []) {
  const names = new Set(workerQueues);
  for (const [withEntries, paused] of replies) {
    for (const n of withEntries || []) names.add(text(n));
    for (const n of paused || []) names.add(text(n));
  }
  return [...names].sort(byCodePoint);
}

/** Whether a worker's record says it serves `queue` (`queue in
 * record.get("queues", ())` in Python). */
function serves(record, queue) {
  const queues = record.queues;
  if (Array.isArray(queues) || typeof queues === 'string') return queues.includes(queue);
  if (queues && typeof queues === 'object') return Object.hasOwn(queues, queue);
  return false;
}

/** The live workers (of `queue` only, when given), oldest first, and the
 * ids whose record is gone (read_workers in _core/workers.py). */
function readWorkers(ids, records, queue) {
  const live = [];
  const dead = [];
  ids.forEach((workerId, i) => {
    const raw = records[i];
    if (raw === null || raw === undefined) {
      dead.push(workerId);
      return;
    }
    let record;
    try {
      record = JSON.parse(text(raw));
    } catch {
      dead.push(workerId); // not a record this version writes
      return;
    }
    if (!record || typeof record !== 'object' || Array.isArray(record)) {
      dead.push(workerId);
      return;
    }
    if (queue === null || serves(record, queue)) live.push(record);
  });
  const key = (r) => [String(r.started_at ?? ''), String(r.id ?? '')];
  live.sort((a, b) => {
    const [sa, ia] = key(a);
    const [sb, ib] = key(b);
    return byCodePoint(sa, sb) || byCodePoint(ia, ib);
  });
  return [live, dead];
}

/** The registry's live workers (of `queue` only, when given); drops the
 * ids of the dead ones from the set (workers() in _registry.py). */
async function readRegistry(client, keys, queue) {
  try {
    const ids = (await client.sMembers(keys.workersKey())).map(text).sort(byCodePoint);
    if (!ids.length) return [];
    const records = await Promise.all(ids.map((id) => client.get(keys.workerKey(id))));
    const [live, dead] = readWorkers(ids, records, queue);
    if (dead.length) await client.sRem(keys.workersKey(), dead);
    return live;
  } catch (err) {
    throw translate(err);
  }
}

module.exports = {
  MAX_QUEUES,
  qstatsCalls,
  pauseCalls,
  resumeCalls,
  queuesCalls,
  mergeQstats,
  mergeQueues,
  servedQueues,
  readWorkers,
  readRegistry,
};
