'use strict';
// The namespace's events (src/jobbertrack/_core/events.py): a k-way merge
// of the shards' streams in (time ms, sequence, shard) order.  A reader
// keeps one position per shard; an event's `cursor` encodes all of them
// ("c:<ms>-<seq>,..."), its `id` is "<shard>:<stream id>".  Pure: no I/O.
const { JobberTrackError } = require('./errors.cjs');
const { STATES, manifest } = require('./scripts.cjs');

const MAX_SEQ = 2n ** 64n - 1n;
const NOW = '$'; // `since`: only events written after the call
const ENDED = new Set(manifest.ended);
const INITIAL = manifest.initial;

const digits = (part) => /^\d{1,20}$/.test(part);

/** A stream id as [ms, seq] (BigInt). */
function parseStreamId(raw) {
  const value = String(raw);
  const dash = value.indexOf('-');
  const [ms, seq] = dash < 0 ? [value, ''] : [value.slice(0, dash), value.slice(dash + 1)];
  if (!digits(ms) || !(seq === '' || digits(seq))) throw new JobberTrackError(`not a stream id: '${value}'`);
  return [BigInt(ms), BigInt(seq || 0)];
}

const compare = (a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] !== b[1] ? (a[1] < b[1] ? -1 : 1) : 0);
const encodeCursor = (positions) => `c:${positions.map(([ms, seq]) => `${ms}-${seq}`).join(',')}`;

/** Per shard, the stream id after which reading starts (start_positions). */
function startPositions(since, shards) {
  if (since === undefined || since === null) return Array.from({ length: shards }, () => [0n, 0n]);
  const value = String(since);
  if (value.startsWith('c:')) {
    const positions = value.slice(2).split(',').map(parseStreamId);
    if (positions.length !== shards) throw new JobberTrackError(`this cursor is for ${positions.length} shards, not ${shards}`);
    return positions;
  }
  const colon = value.indexOf(':');
  const shardText = colon < 0 ? '' : value.slice(0, colon);
  if (!/^\d+$/.test(shardText)) throw new JobberTrackError(`not an event id or cursor: '${value}'`);
  const shard = Number(shardText);
  const [ms, seq] = parseStreamId(value.slice(colon + 1));
  // merge order is (ms, seq, shard): a later shard's entry with the very
  // same (ms, seq) comes after the event, an earlier shard's before it
  const justBefore = seq > 0n ? [ms, seq - 1n] : [ms > 0n ? ms - 1n : 0n, MAX_SEQ];
  return Array.from({ length: shards }, (_, s) => (s > shard ? justBefore : [ms, seq]));
}

function readObject(raw) {
  if (raw === undefined) return null;
  try {
    const value = JSON.parse(raw);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** Whether a stream entry is its job's final transition (ends_job). */
const endsJob = (fields) => ENDED.has(fields.state) && !('progress' in fields);

/** The merge state: positions, per-shard buffers, which shards to fetch (EventReader). */
class EventReader {
  constructor(keys, since, page = 500) {
    this.keys = keys;
    this.page = page;
    this.positions = startPositions(since, keys.shards);
    this.buffers = Array.from({ length: keys.shards }, () => []);
    this.done = new Set();
  }

  toFetch() {
    return [...this.positions.keys()].filter((s) => !this.done.has(s) && !this.buffers[s].length);
  }

  /** [key, start (exclusive), end, count] of an XRANGE of a shard. */
  rangeArgs(shard) {
    const [ms, seq] = this.positions[shard];
    return [this.keys.eventsKey(shard), `(${ms}-${seq}`, '+', this.page];
  }

  /** Entries [[id, fields], ...] read from one shard; `complete`: its end was reached. */
  feed(shard, entries, complete) {
    const buffer = this.buffers[shard];
    let last = buffer.length ? buffer[buffer.length - 1][0] : this.positions[shard];
    for (const [id, fields] of entries) {
      const pos = parseStreamId(id);
      if (compare(pos, last) > 0) {
        buffer.push([pos, fields]);
        last = pos;
      }
    }
    if (complete) this.done.add(shard);
    else this.done.delete(shard);
  }

  xreadStreams() {
    return Object.fromEntries(this.positions.map(([ms, seq], s) => [this.keys.eventsKey(s), `${ms}-${seq}`]));
  }

  /** Feed what a blocking read returned: [[key, entries], ...]. */
  feedXread(items) {
    const index = new Map(this.positions.map((_, s) => [this.keys.eventsKey(s), s]));
    const perShard = new Map();
    for (const [key, entries] of items) {
      const s = index.get(key);
      perShard.set(s, [...(perShard.get(s) || []), ...entries]);
    }
    for (const [s, entries] of perShard) this.feed(s, entries, entries.length < this.page);
  }

  /** The next event in merge order, or null (a shard must be fetched first,
   * or everything known has been read).  An entry whose state is not a
   * state (another writer's) is passed over. */
  pop() {
    while (!this.toFetch().length) {
      let best = -1;
      this.buffers.forEach((b, s) => {
        if (b.length && (best < 0 || compare(b[0][0], this.buffers[best][0][0]) < 0)) best = s;
      });
      if (best < 0) return null;
      const [pos, fields] = this.buffers[best].shift();
      this.positions[best] = pos;
      const state = fields.state ?? INITIAL;
      if (STATES.includes(state)) {
        const event = {
          id: `${best}:${pos[0]}-${pos[1]}`,
          jobId: fields.job ?? '',
          state,
          at: new Date(Number(pos[0])),
          progress: readObject(fields.progress),
          error: readObject(fields.error),
          cursor: encodeCursor(this.positions),
        };
        event.isFinal = ENDED.has(state) && event.progress === null;
        return event;
      }
    }
    return null;
  }
}

module.exports = { EventReader, parseStreamId, encodeCursor, endsJob, NOW };
