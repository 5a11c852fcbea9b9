'use strict';
// Finding jobs (src/jobbertrack/_core/finding.py and filtered_counts in
// _plans.py; docs/data-model.md, "Finding jobs"): list() with filters (tag,
// queue, name prefix, creation time) and in creation order, and count() by
// tag or queue.  Plans are pure; the I/O is given: `exec(calls)` runs
// script calls at once.
//
// Each shard answers with `find.lua`: the live jobs matching the filter,
// read from the shard's smallest fitting index, down to a place it names
// (`reached`, a score and an id per key read that has more): every entry
// at or before the highest of them, in listing order, has been looked at.
// A page is exact once it holds `limit` jobs at or before the highest place
// of the shards that have more: rounds go on until then, or until
// MAX_ROUNDS rounds were made; a page may then be short, and its cursor
// ("<score>:<id>" of that place) goes on from where every shard got to.
const { JobberTrackError, InvalidData, WrongType } = require('./errors.cjs');
const { STATES, FIELDS } = require('./scripts.cjs');
const { checkQueue } = require('./queue.cjs');
const { checkLimit, compare, candidate } = require('./listing.cjs');
const { pyRepr, pyType, reprString } = require('./repr.cjs');
const { checkTag } = require('./tags.cjs');

/** Rounds of one page before it is returned short (with a cursor going on). */
const MAX_ROUNDS = 8;
/** Entries a shard looks at per call, at least (more for a large page). */
const BUDGET = 1000;
const ORDERS = Object.freeze(['created', 'expires']);
/** Longest job name (MAX_NAME in fields.py). */
const MAX_NAME = FIELDS.create.name.max_length;

const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
const given = (v) => v !== undefined && v !== null;
const chars = (s) => [...s];

/** `tag`: one tag or several (all must match), duplicates dropped (tags_filter). */
function tagsFilter(tag) {
  if (!given(tag)) return [];
  if (typeof tag === 'string') return [checkTag(tag)];
  if (tag instanceof Uint8Array || typeof tag?.[Symbol.iterator] !== 'function') {
    throw new InvalidData(`tag must be a tag or a list of tags, not ${pyType(tag)}`);
  }
  return [...new Set([...tag].map(checkTag))];
}

/** A name prefix as check_name takes it; '' is no filter. */
function checkName(name) {
  if (typeof name !== 'string') throw new WrongType(`name must be a str, not ${pyType(name)}`);
  const length = chars(name).length;
  if (length > MAX_NAME) throw new InvalidData(`name must be at most ${MAX_NAME} characters, not ${length}`);
  if (!name.isWellFormed()) throw new InvalidData(`name must be valid unicode text: ${reprString(name)}`);
  return name;
}

/** Python's round(): to the nearest integer, a half to the even one. */
function roundHalfEven(x) {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** A filter's time (a Date, or epoch seconds) as epoch ms; null stays null (time_ms). */
function timeMs(value, what) {
  if (!given(value)) return null;
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new InvalidData(`${what} must be a time, not an invalid Date`);
    return ms;
  }
  const seconds = typeof value === 'bigint' ? Number(value) : value;
  if (typeof seconds !== 'number') throw new WrongType(`${what} must be a datetime or epoch seconds, not ${pyType(value)}`);
  if (!(seconds > -1e13 && seconds < 1e13)) throw new InvalidData(`${what} must be a time, not ${pyRepr(value)}`); // also refuses NaN
  return roundHalfEven(seconds * 1000);
}

/** What list() and count() were asked for, checked (make_filter):
 * {states ([] = every state), tags, queue, name, after, before, order}.
 * `every`: no state was given. */
function makeFilter(states, every, { tag, queue, name, createdAfter, createdBefore, order = 'created' } = {}) {
  if (!ORDERS.includes(order)) throw new JobberTrackError(`order must be one of ['created', 'expires'], not ${pyRepr(order)}`);
  const prefix = given(name) ? checkName(name) : null;
  return {
    states: every ? [] : [...states],
    tags: tagsFilter(tag),
    queue: given(queue) ? checkQueue(queue) : null,
    name: prefix || null,
    after: timeMs(createdAfter, 'created_after'),
    before: timeMs(createdBefore, 'created_before'),
    order,
  };
}

/** Whether a filter filters on more than the state (Filter.narrow). */
const isNarrow = (f) => f.tags.length > 0 || f.queue !== null || f.name !== null || f.after !== null || f.before !== null;

/** ARGV[11..] of find.lua: the time range, queue, name prefix and tags. */
const tail = (f) => [
  f.after === null ? '' : String(f.after),
  f.before === null ? '' : String(f.before),
  f.queue ?? '',
  f.name ?? '',
  ...f.tags,
];

/** One page of a filtered listing, in rounds of one `find` call per shard
 * that may still hold part of it (FindPlan). */
class FindPlan {
  constructor(keys, filter, limit, cursor) {
    checkLimit(limit);
    this.keys = keys;
    this.filter = filter;
    this.limit = limit;
    this.cursor = cursor;
    const share = Math.ceil(limit / keys.shards);
    this.want = Math.min(limit, 2 * share + 2);
    this.found = new Map(); // id -> candidate [score, id bytes, id]
    // per shard still to read: where to go on after [score, id], null from the top
    this.tops = new Map();
    for (let s = 0; s < keys.shards; s++) this.tops.set(s, cursor === null ? null : [cursor.score, cursor.id]);
    this.reached = new Map(); // shard -> the place of its last look: [score, id bytes, id]
    this.rounds = 0;
    this.asked = [];
  }

  /** The next round's calls ([]: the page is settled). */
  calls() {
    if (this.rounds && this._settled()) return [];
    this.rounds += 1;
    const head = [this.filter.states.join(' '), this.filter.order];
    const budget = Math.max(BUDGET, 4 * this.want);
    const rest = tail(this.filter);
    this.asked = this._wantedShards();
    const out = this.asked.map((shard) => {
      const top = this.tops.get(shard);
      const args = [
        '', '', '', '', ...head, String(this.want), String(budget),
        top === null ? '' : String(top[0]), top === null ? '' : top[1], ...rest,
      ];
      return { script: 'find', keys: this.keys.shardKeys(shard), args, id: '' };
    });
    return out;
  }

  _wantedShards() {
    if (this.rounds === 1) return [...this.tops.keys()];
    const best = [...this.found.values()].sort(compare).reverse();
    const bound = best.length >= this.limit ? best[this.limit - 1] : null;
    const shards = [...this.reached].filter(([, at]) => bound === null || compare(at, bound) >= 0).map(([s]) => s);
    // what the page still lacks, spread over them (twice over: shards differ); the budget stays the last round's
    const missing = this.limit - this._final().length;
    this.want = Math.min(this.limit, 2 * Math.ceil(missing / Math.max(1, shards.length)) + 2);
    return shards;
  }

  /** Take one round's replies (in the order of its calls). */
  take(replies) {
    this.asked.forEach((shard, i) => {
      const [matches, reached] = replies[i];
      for (let j = 0; j + 1 < matches.length; j += 2) {
        const c = candidate(Number(matches[j + 1]), text(matches[j]));
        if (this._afterCursor(c)) this.found.set(c[2], c);
      }
      const marks = [];
      for (let j = 0; j + 1 < reached.length; j += 2) marks.push(candidate(Number(reached[j]), text(reached[j + 1])));
      if (marks.length) { // go on after the highest place a key got to: every key has read that far
        const at = marks.sort(compare)[marks.length - 1];
        this.reached.set(shard, at);
        this.tops.set(shard, [at[0], at[2]]);
      } else {
        this.reached.delete(shard);
      }
    });
  }

  _afterCursor(c) {
    const cursor = this.cursor;
    if (cursor === null) return true;
    return c[0] < cursor.score || (c[0] === cursor.score && Buffer.compare(c[1], Buffer.from(cursor.id, 'utf8')) < 0);
  }

  /** The highest place a shard that has more got to, or null. */
  _boundary() {
    return this.reached.size ? [...this.reached.values()].sort(compare)[this.reached.size - 1] : null;
  }

  _final() {
    const bound = this._boundary();
    return [...this.found.values()].filter((c) => bound === null || compare(c, bound) >= 0).sort(compare).reverse();
  }

  _settled() {
    return this._boundary() === null || this._final().length >= this.limit || this.rounds >= MAX_ROUNDS;
  }

  /** [the page's ids in order, the next page's cursor (null at the end)]. */
  result() {
    const final = this._final();
    if (final.length >= this.limit) {
      const chosen = final.slice(0, this.limit);
      const last = chosen[chosen.length - 1];
      return [chosen.map((c) => c[2]), `${last[0]}:${last[2]}`];
    }
    const bound = this._boundary();
    return [final.map((c) => c[2]), bound === null ? null : `${bound[0]}:${bound[2]}`];
  }

  /** The jobs still there and in a listed state, and malformed ones (as
   * ListPlan.keep: reading a job settles it). */
  keep(jobs) {
    const states = new Set(this.filter.states.length ? this.filter.states : STATES);
    return jobs.filter((job) => job && (states.has(job.state) || job.problems.length));
  }
}

/** The ids of one page and the next page's cursor (find_page). */
async function findPage(keys, filter, limit, cursor, exec) {
  const plan = new FindPlan(keys, filter, limit, cursor);
  for (let calls = plan.calls(); calls.length; calls = plan.calls()) plan.take(await exec(calls));
  const [ids, next] = plan.result();
  return { plan, ids, next };
}

/** One `tally` call per shard: the counts of one tag or queue per state. */
function tallyCalls(keys, kind, value) {
  return Array.from({ length: keys.shards }, (_, s) => ({
    script: 'tally', keys: keys.shardKeys(s), args: ['', '', '', '', kind, value], id: '',
  }));
}

/** The shards' per-state counts (count or tally replies), summed, by state. */
function mergeCounts(replies) {
  const out = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const reply of replies) STATES.forEach((s, i) => (out[s] += Number(reply[i])));
  return out;
}

/** Live jobs per state matching `filter` (every state, or its own), as
 * filtered_counts: by the tallies for one tag or one queue alone (O(1) per
 * shard), by the `count` calls (`countCalls`) for no filter, else by listing
 * every match of each state apart (order 'count'). */
async function filteredCounts(keys, filter, exec, countCalls) {
  if (!isNarrow(filter)) return mergeCounts(await exec(countCalls));
  if (!filter.name && !filter.after && !filter.before && filter.tags.length + (filter.queue !== null) === 1) {
    const [kind, value] = filter.tags.length ? ['tag', filter.tags[0]] : ['queue', filter.queue];
    return mergeCounts(await exec(tallyCalls(keys, kind, value)));
  }
  const totals = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const state of filter.states.length ? filter.states : STATES) { // each state apart: a listing settles no job
    let cursor = null;
    for (;;) {
      const plan = new FindPlan(keys, { ...filter, states: [state], order: 'count' }, 10000, cursor);
      for (let calls = plan.calls(); calls.length; calls = plan.calls()) plan.take(await exec(calls));
      const [ids, next] = plan.result();
      totals[state] += ids.length;
      if (next === null) break;
      cursor = parseNext(next);
    }
  }
  return totals;
}

const parseNext = (next) => {
  const at = next.indexOf(':');
  return { score: Number(next.slice(0, at)), id: next.slice(at + 1) };
};

module.exports = {
  MAX_ROUNDS,
  BUDGET,
  ORDERS,
  FindPlan,
  makeFilter,
  isNarrow,
  checkTag,
  tagsFilter,
  timeMs,
  findPage,
  tallyCalls,
  mergeCounts,
  filteredCounts,
};
