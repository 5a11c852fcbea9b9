'use strict';
// Blocking reads of streams (XREAD BLOCK), as _tail.py and _run.py do in
// Python: on a connection of their own (a duplicate of the user's client,
// so its other calls are never held up), at most CHUNK_MS per read.  On a
// standalone server one XREAD covers several streams; on a cluster each
// stream is in its own slot, so each gets its own reader.
//
// Standalone duplicates are kept for the next blocking call and unref()'d
// while idle (they never keep the process alive); a cluster client has no
// unref(), so its duplicates are closed when the call ends.
const { translate } = require('./errors.cjs');
const { clientState } = require('./run.cjs');
const { CHUNK_MS, monotonic, chunkMs } = require('./deadlines.cjs');

const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

const isCluster = (client) => typeof client.unref !== 'function';

function fieldsOf(message) {
  if (Array.isArray(message)) {
    const out = {};
    for (let i = 0; i + 1 < message.length; i += 2) out[text(message[i])] = text(message[i + 1]);
    return out;
  }
  const entries = message instanceof Map ? [...message.entries()] : Object.entries(message || {});
  return Object.fromEntries(entries.map(([k, v]) => [text(k), text(v)]));
}

/** An XREAD reply as [[key, [[id, fields], ...]], ...]. */
function entriesOf(reply) {
  if (!reply) return [];
  const streams = Array.isArray(reply)
    ? reply
    : [...(reply instanceof Map ? reply.entries() : Object.entries(reply))].map(([name, messages]) => ({ name, messages }));
  return streams.map((s) => [text(s.name), (s.messages || []).map((m) => [text(m.id), fieldsOf(m.message)])]);
}

/** A connection for blocking reads (give it back with `release`). */
async function borrow(client) {
  const cs = clientState(client);
  cs.blockers ??= [];
  let dup = cs.blockers.pop();
  if (!dup || !dup.isOpen) {
    dup = client.duplicate();
    dup.on('error', () => {}); // reported by the failing call
    try {
      await dup.connect();
    } catch (err) {
      throw translate(err);
    }
    if (!isCluster(client) && !cs.closesBlockers) {
      cs.closesBlockers = true;
      client.on('end', () => {
        for (const idle of cs.blockers.splice(0)) idle.destroy();
      });
    }
  }
  if (!isCluster(client)) dup.ref();
  return dup;
}

function release(client, dup, broken = false) {
  if (broken || isCluster(client)) {
    try {
      Promise.resolve(dup.destroy()).catch(() => {});
    } catch {
      // closed already
    }
    return;
  }
  if (!dup.isOpen) return;
  dup.unref();
  clientState(client).blockers.push(dup);
}

/** Run `body(dup)` on a borrowed blocking connection. */
async function withBlocker(client, body) {
  const dup = await borrow(client);
  let broken = false;
  try {
    return await body(dup);
  } catch (err) {
    broken = true;
    throw translate(err);
  } finally {
    release(client, dup, broken);
  }
}

async function xread(dup, positions, blockMs, count) {
  const streams = Object.entries(positions).map(([key, id]) => ({ key, id }));
  return entriesOf(await dup.xRead(streams, { BLOCK: Math.max(1, blockMs), COUNT: count }));
}

/** The newest id of a stream ("0-0" when empty or missing; last_stream_id). */
async function lastStreamId(client, key) {
  try {
    const entries = await client.xRevRange(key, '+', '-', { COUNT: 1 });
    return entries && entries.length ? text(entries[0].id) : '0-0';
  } catch (err) {
    throw translate(err);
  }
}

/** Longest single BLPOP of a wake-up list (WAKE_BLOCK_MS in _run.py), ms. */
const WAKE_BLOCK_MS = 5000;

/** Shortest BLPOP timeout sent, ms (MIN_WAKE_MS in _core/deadlines.py):
 * Redis 6.2 truncates 0.001 s to 0 ms, which means block for ever. */
const MIN_WAKE_MS = 10;

/** Block on a queue's wake-up list until a token comes (true: taken, so no
 * other worker wakes for it) or `deadline` (monotonic) passes (await_wake). */
async function awaitWake(client, key, deadline) {
  if (monotonic() >= deadline) return false;
  return withBlocker(client, async (dup) => {
    for (let now = monotonic(); now < deadline; now = monotonic()) {
      const left = deadline === Infinity ? WAKE_BLOCK_MS : Math.floor((deadline - now) * 1000);
      const reply = await dup.blPop(key, Math.max(MIN_WAKE_MS, Math.min(WAKE_BLOCK_MS, left)) / 1000);
      if (reply) return true;
    }
    return false;
  });
}

/** Whether this worker is the one to look at every shard now (claim_rescan). */
async function claimRescan(client, key, ms) {
  try {
    return (await client.set(key, '1', { NX: true, PX: ms })) !== null;
  } catch (err) {
    throw translate(err);
  }
}

/** Block on one shard's event stream until an event ends `jobId` (true)
 * or `deadline` passes (false); `after`: the stream id read before the
 * caller last looked at the job, so no event slips between (wait_for_final). */
async function waitForFinal(client, key, after, jobId, deadline, endsJob) {
  if (monotonic() >= deadline) return false;
  return withBlocker(client, async (dup) => {
    let position = after;
    for (let now = monotonic(); now < deadline; now = monotonic()) {
      for (const [, entries] of await xread(dup, { [key]: position }, chunkMs(deadline, now), 500)) {
        for (const [id, fields] of entries) {
          position = id;
          if (fields.job === jobId && endsJob(fields)) return true;
        }
      }
    }
    return false;
  });
}

/** Blocking reads of several streams at once (StreamTail): `read(positions,
 * blockMs)` resolves to what arrived, or [].  close() when done. */
class StreamTail {
  constructor(client, page) {
    this.client = client;
    this.page = page;
    this.cluster = isCluster(client);
    this.dup = null;
    this.followers = new Map(); // cluster: key -> its connection
    this.arrived = [];
    this.wake = null;
    this.closed = false;
  }

  async read(positions, blockMs) {
    if (!this.cluster) {
      this.dup ??= await borrow(this.client);
      try {
        return await xread(this.dup, positions, Math.min(blockMs, CHUNK_MS), this.page);
      } catch (err) {
        release(this.client, this.dup, true);
        this.dup = null;
        throw translate(err);
      }
    }
    for (const [key, position] of Object.entries(positions)) {
      if (!this.followers.has(key)) {
        this.followers.set(key, null);
        this._follow(key, position);
      }
    }
    if (!this.arrived.length) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, blockMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    const out = this.arrived.splice(0);
    const failed = out.find((item) => item instanceof Error);
    if (failed) throw failed;
    return out;
  }

  async _follow(key, position) {
    let dup = null;
    try {
      dup = await borrow(this.client);
      this.followers.set(key, dup);
      while (!this.closed) {
        const items = (await xread(dup, { [key]: position }, CHUNK_MS, this.page)).filter(([, e]) => e.length);
        if (!items.length) continue;
        position = items[items.length - 1][1].at(-1)[0];
        this.arrived.push(...items);
        if (this.wake) this.wake();
      }
    } catch (err) {
      if (this.closed) return;
      this.arrived.push(translate(err));
      if (this.wake) this.wake();
    } finally {
      if (dup) release(this.client, dup, true); // closed while it connected, or failed
    }
  }

  close() {
    this.closed = true;
    if (this.dup) release(this.client, this.dup);
    for (const dup of this.followers.values()) if (dup) release(this.client, dup, true);
    this.followers.clear();
  }
}

module.exports = { lastStreamId, awaitWake, claimRescan, waitForFinal, StreamTail, entriesOf };
