'use strict';
// Listing across shards (src/jobbertrack/_core/listing.py): latest expiry
// first, ties by id in descending byte order; a page is at most two rounds
// of one `list` call per shard, merged here; the cursor "<score>:<id>"
// names the last job listed.  Pure: no I/O.
const { JobberTrackError } = require('./errors.cjs');
const { STATES } = require('./scripts.cjs');
const { pyRepr } = require('./repr.cjs');

const MAX_PAGE = 10000;
const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
const pyList = (items) => `[${items.map((s) => `'${s}'`).join(', ')}]`;

function checkState(value) {
  if (!STATES.includes(value)) {
    const shown = typeof value === 'string' ? `'${value}'` : String(value);
    throw new JobberTrackError(`unknown state ${shown}: use one of ${pyList(STATES)}`);
  }
  return value;
}

/** The states to list: null for all of them, one, or several (states_of). */
function statesOf(state) {
  if (state === undefined || state === null) return [...STATES];
  if (typeof state === 'string') return [checkState(state)];
  if (typeof state?.[Symbol.iterator] !== 'function') {
    throw new JobberTrackError(`state must be a state name or several, not ${String(state)}`);
  }
  const states = [...state].map(checkState);
  if (!states.length) throw new JobberTrackError('no state given: pass null for all of them');
  return states;
}

function parseCursor(value) {
  if (value === undefined || value === null || value === '') return null;
  const raw = String(value);
  const at = raw.indexOf(':');
  const score = at < 0 ? '' : raw.slice(0, at);
  if (at < 0 || !/^\d{1,20}$/.test(score)) throw new JobberTrackError(`not a listing cursor: '${raw}'`);
  return { score: Number(score), id: raw.slice(at + 1) };
}

// A candidate: [score, id as UTF-8 bytes, id]; compare() sorts in listing order, reversed.
const compare = (a, b) => a[0] - b[0] || Buffer.compare(a[1], b[1]);
const candidate = (score, id) => [score, Buffer.from(id, 'utf8'), id];

/** A page's size: an int from 1 to MAX_PAGE (_check_limit). */
function checkLimit(limit) {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new JobberTrackError(`limit must be an int from 1 to ${MAX_PAGE}, not ${pyRepr(limit)}`);
  }
  return limit;
}

/** A page in at most two rounds (ListPlan). */
class ListPlan {
  constructor(keys, states, limit, cursor) {
    checkLimit(limit);
    this.keys = keys;
    this.limit = limit;
    this.cursor = cursor;
    this.states = new Set(states);
    this.statesArg = states.join(' ');
    const share = Math.ceil(limit / keys.shards);
    this.firstShare = Math.min(limit, 2 * share + 2);
    this.found = new Map();
  }

  _calls(shards, share) {
    const args = [this.statesArg, String(share), this.cursor === null ? '' : String(this.cursor.score)];
    return shards.map((s) => ({ script: 'list', keys: this.keys.shardKeys(s), args, id: '' }));
  }

  firstCalls() {
    return this._calls([...Array(this.keys.shards).keys()], this.firstShare);
  }

  /** Take round 1; round 2's calls ([] if the page is settled). */
  afterFirst(replies) {
    const lasts = replies.map((reply) => this._take(reply));
    if (this.firstShare >= this.limit) return [];
    const page = [...this.found.values()].sort(compare).reverse().slice(0, this.limit);
    const bound = page.length === this.limit ? page[page.length - 1] : null;
    const again = [];
    lasts.forEach((last, s) => {
      if (last !== null && (bound === null || last[0] >= bound[0])) again.push(s);
    });
    return this._calls(again, this.limit);
  }

  afterSecond(replies) {
    for (const reply of replies) this._take(reply);
  }

  _take([ties, page]) {
    if (this.cursor !== null) {
      const after = Buffer.from(this.cursor.id, 'utf8');
      for (const raw of ties) {
        const id = text(raw);
        const c = candidate(this.cursor.score, id);
        if (Buffer.compare(c[1], after) < 0) this.found.set(id, c);
      }
    }
    const taken = [];
    for (let i = 0; i + 1 < page.length; i += 2) {
      const c = candidate(Number(page[i + 1]), text(page[i]));
      this.found.set(c[2], c);
      taken.push(c);
    }
    return taken.length >= this.firstShare ? taken.sort(compare)[0] : null;
  }

  /** The page's ids in order, and the next page's cursor (null at the end). */
  result() {
    const chosen = [...this.found.values()].sort(compare).reverse().slice(0, this.limit);
    const last = chosen[chosen.length - 1];
    return [chosen.map((c) => c[2]), chosen.length === this.limit ? `${last[0]}:${last[2]}` : null];
  }

  /** The jobs still there and in a listed state, and malformed ones (keep). */
  keep(jobs) {
    return jobs.filter((job) => job && (this.states.has(job.state) || job.problems.length));
  }
}

module.exports = { ListPlan, statesOf, parseCursor, checkLimit, compare, candidate, MAX_PAGE };
