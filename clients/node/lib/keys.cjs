'use strict';
// Key names of a namespace (docs/data-model.md, "Shards and hash tags" and
// "Keys"; src/jobbertrack/_core/keys.py): shard i of S has the hash tag
// "<i>.<k>" for the first k whose CRC16 slot lies in the i-th of S equal
// slot ranges; a job belongs to shard CRC32(UTF-8 id) mod S.
const { JobberTrackError, InvalidJobId } = require('./errors.cjs');
const { LAYOUT } = require('./scripts.cjs');

const CLUSTER_SLOTS = 16384;
const MAX_SHARDS = 1024;
const MAX_ID_LENGTH = 512;

/** The layout version this client writes into `<ns>:{layout}`, and those
 * it can read (docs/data-model.md, "Layout version"). */
const LAYOUT_VERSION = '1';
const KNOWN_LAYOUTS = ['1'];

function crc16(bytes) {
  // CRC16-XMODEM: Redis Cluster's key slot checksum
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

const CRC32_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  // zlib / IEEE CRC-32
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const tagCache = new Map();

function shardTags(shards) {
  let tags = tagCache.get(shards);
  if (!tags) {
    tags = [];
    for (let i = 0; i < shards; i++) {
      const low = Math.floor((i * CLUSTER_SLOTS) / shards);
      const high = Math.floor(((i + 1) * CLUSTER_SLOTS) / shards);
      let k = 0;
      for (;;) {
        const slot = crc16(Buffer.from(`${i}.${k}`)) % CLUSTER_SLOTS;
        if (low <= slot && slot < high) break;
        k++;
      }
      tags.push(`${i}.${k}`);
    }
    tagCache.set(shards, tags);
  }
  return tags;
}

/** `id` if it can be stored safely (check_id in _core/ids.py), else InvalidJobId. */
function checkId(id) {
  if (typeof id !== 'string') throw new InvalidJobId(`a job id must be a string, not ${typeof id}`);
  if (!id) throw new InvalidJobId('a job id must not be empty');
  const length = [...id].length;
  if (length > MAX_ID_LENGTH) {
    throw new InvalidJobId(`a job id must be at most ${MAX_ID_LENGTH} characters, not ${length}`);
  }
  if (!id.isWellFormed()) throw new InvalidJobId(`a job id must be valid unicode text: ${JSON.stringify(id)}`);
  if (/[\p{C}\p{Z}]/u.test(id.replaceAll(' ', ''))) {
    throw new InvalidJobId(`a job id must be printable characters only: ${JSON.stringify(id)}`);
  }
  return id;
}

class Keyspace {
  constructor(namespace = 'jt', shards = 16) {
    if (typeof namespace !== 'string' || !namespace || /[{}]/.test(namespace) || !namespace.isWellFormed()) {
      throw new JobberTrackError(`namespace must be a non-empty string without braces, not ${JSON.stringify(namespace)}`);
    }
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
      throw new JobberTrackError(`shards must be an integer from 1 to ${MAX_SHARDS}, not ${shards}`);
    }
    this.namespace = namespace;
    this.shards = shards;
    this.prefixes = shardTags(shards).map((tag) => `${namespace}:{${tag}}:`);
  }

  shardOf(id) {
    return crc32(Buffer.from(id, 'utf8')) % this.shards;
  }

  /** The shard of an idempotency key's entry: CRC32(UTF-8 key) mod S, as
   * for an id (the key's job may be in another shard; key_shard). */
  keyShard(key) {
    return crc32(Buffer.from(key, 'utf8')) % this.shards;
  }

  /** The entry of an idempotency key: a string holding its job's id,
   * expiring with that job's record (key_entry; lib/idem.cjs). */
  keyEntry(key) {
    return `${this.prefixes[this.keyShard(key)]}key:${key}`;
  }

  jobKey(id) {
    return `${this.prefixes[this.shardOf(id)]}job:${id}`;
  }

  /** The KEYS every job script receives (the layout of _states.lua). */
  jobKeys(id) {
    const prefix = this.prefixes[this.shardOf(id)];
    return LAYOUT.map((name, i) => (i === 0 ? `${prefix}job:${id}` : prefix + name));
  }

  /** KEYS of a shard-wide script: KEYS[1] is the shard's job-key prefix. */
  shardKeys(shard) {
    const prefix = this.prefixes[shard];
    return LAYOUT.map((name, i) => (i === 0 ? `${prefix}job:` : prefix + name));
  }

  /** The event stream of shard `shard` (one entry per transition). */
  eventsKey(shard) {
    return `${this.prefixes[shard]}events`;
  }

  /** The counter of the seed's numeric ids (jobbertrack/seed): INCR gives
   * the next id (docs/data-model.md, "Keys"). */
  counterKey() {
    return `${this.namespace}:{counter}`;
  }

  /** The wake-up list of a queue: at most one token, pushed by a push, a
   * retry or a resume and taken by one blocked worker (BLPOP): a push wakes
   * one worker (wake_key in _core/keys.py; never touched by a script). */
  wakeKey(queue) {
    return `${this.namespace}:{${this.namespace}.wakeup}:${queue}`;
  }

  /** Claimed (SET NX PX) by the one idle worker of a queue that looks at
   * every shard now and then (rescan_key in _core/keys.py). */
  rescanKey(queue) {
    return `${this.namespace}:{${this.namespace}.rescan}:${queue}`;
  }

  /** The set of registered worker ids (workers_key in _core/keys.py; the
   * worker registry of _core/workers.py). */
  workersKey() {
    return `${this.namespace}:{${this.namespace}.workers}:ids`;
  }

  /** A registered worker's record, JSON, expiring two heartbeat periods
   * after its last beat (worker_key). */
  workerKey(workerId) {
    return `${this.namespace}:{${this.namespace}.workers}:w:${workerId}`;
  }

  /** The key holding the namespace's layout version. */
  layoutKey() {
    return `${this.namespace}:{layout}`;
  }
}

module.exports = {
  Keyspace,
  checkId,
  crc16,
  crc32,
  shardTags,
  LAYOUT_VERSION,
  KNOWN_LAYOUTS,
  MAX_ID_LENGTH,
};
