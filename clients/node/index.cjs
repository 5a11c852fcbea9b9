'use strict';
// jobbertrack for Node.js: create jobs and track their status in Redis, on
// the data model of the Python package (docs/data-model.md), with the
// seed's API shape, promise-based.
//
//   const { createClient } = require('redis');
//   const { Handler } = require('jobbertrack');
//   const track = new Handler(await createClient().connect());
//   const job = await track.create(60);   // {data, name, tags, key}: a key makes at most one live job (job.existed)
//   await job.start(); await job.finish({ rows: 3 });
//   // an operator's: track.cancel(id, reason), track.retry(id, {delay}), track.delete(id)
//   // the work queue: track.push(data, {queue}), track.popAndStart(queue, {block, lease}), track.queued(queue)
//   // reading: track.list(state, {limit, cursor, tag, queue, name, createdAfter, createdBefore, order}),
//   //   track.count(state, {tag, queue}), track.counts({tag, queue}), track.events({since, block}), track.wait(id, timeout)
//   // many jobs: track.createMany(n, timeout, {data, name, tags, batch}), track.getMany(ids), track.history(id),
//   //   track.sweep(), track.retryAll(state, {queue, limit}), track.clean(state, {olderThan, limit})
//   // the fleet: track.queues(), track.queueStats(queue), track.pause(queue), track.resume(queue), track.workers(queue)
//   // groups: track.createGroup(timeout, {name, data, then, children}), track.group(id), {group} on create/push/createMany;
//   //   group.counts(), group.progress(), group.close(), group.children({state, limit, cursor}), group.cancel(), group.retryFailed()
//
// The seed's own API, callbacks and promises, is jobbertrack/seed (seed.cjs).
const errors = require('./lib/errors.cjs');
const {
  Commands,
  MOVES,
  createFields,
  newId,
  durationMs,
  optionalMs,
  delayMs,
  errorDetails,
  cancelDetails,
  progressDetails,
} = require('./lib/calls.cjs');
const { checkId } = require('./lib/keys.cjs');
const { pyRepr } = require('./lib/repr.cjs');
const { STATES, manifest } = require('./lib/scripts.cjs');
const { fieldsFromFlat, toValue, fromValue, problems, readJson, payloadFields, PAYLOAD_FIELDS } = require('./lib/record.cjs');
const { run, checkLayout, notify } = require('./lib/run.cjs');
const { checkQueue, checkRetries, checkPriority, secondsMs, pushCall, queuedCalls, Hints, popOnce, Waiter, RESCAN_MS } = require('./lib/queue.cjs');
const { lastStreamId, awaitWake, claimRescan, waitForFinal } = require('./lib/blocking.cjs');
const { monotonic, waitDeadline, blockDeadline, wakeAt } = require('./lib/deadlines.cjs');
const { ListPlan, statesOf, parseCursor } = require('./lib/listing.cjs');
const { FindPlan, makeFilter, isNarrow, findPage, filteredCounts } = require('./lib/finding.cjs');
const { endsJob } = require('./lib/events.cjs');
const { iterEvents } = require('./lib/follow.cjs');
const fleet = require('./lib/fleet.cjs');
const bulk = require('./lib/bulk.cjs');
const { createdFields } = bulk;
const { history } = require('./lib/history.cjs');
const idem = require('./lib/idem.cjs');
const groups = require('./lib/groups.cjs');

const { errorFor, InvalidTimeout, InvalidData, JobberTrackError, WaitTimeout } = errors;

/** The calls of a resource made on its own (not by a handler): namespace "jt". */
let defaultCommands;
const DEFAULT = () => (defaultCommands ??= new Commands());

/** Where a job has ended (ENDED in _core/transitions.py, from the manifest). */
const FINAL = Object.freeze([...manifest.ended]);

function text(v) {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** One job: its id and a local copy of its record (not live; see refresh). */
class Resource {
  constructor(client, id) {
    this.client = client;
    this.id = checkId(id);
    this._commands = DEFAULT();
    this._fields = {};
    this._known = false;
    this._existed = false;
  }

  _bind(commands) {
    this._commands = commands;
    return this;
  }

  /** The job's state (one of STATES: 'waiting', 'running', 'failed',
   * 'finished', 'cancelled'), or null:
   * not read yet, or a malformed record (see problems). */
  get state() {
    return this.problems.length ? null : STATES.includes(this._fields.state) ? this._fields.state : null;
  }

  get problems() {
    return Object.keys(this._fields).length ? problems(this._fields) : [];
  }

  _payload(field) {
    if (field === null) return null;
    const value = readJson(this._fields[field]);
    if (value === undefined) throw new InvalidData(`job '${this.id}': stored ${field} is malformed`);
    return value;
  }

  /** What the job was made with (create({data})); never changed by a move; null when none. */
  get input() {
    return this._payload(payloadFields(this._fields)[0]);
  }

  /** What finish(value) stored; null before. */
  get result() {
    return this._payload(payloadFields(this._fields)[1]);
  }

  /** The seed's data, kept for existing code: the result once there is one,
   * else the input, else null.  Prefer `input` and `result`. */
  get data() {
    const [given, result] = payloadFields(this._fields);
    return this._payload(result ?? given);
  }

  get isFinal() {
    return FINAL.includes(this.state);
  }

  get progress() {
    return this.getValue().progress ?? null;
  }

  get error() {
    return this.getValue().error ?? null;
  }

  get name() {
    return this._fields.name ?? null;
  }

  /** The queue the job was pushed on (Python's push()), or null. */
  get queue() {
    return this._fields.queue ?? null;
  }

  /** The idempotency key it was made with (create(..., {key})), or null. */
  get key() {
    return this._fields.key ?? null;
  }

  /** True for the job a keyed create or push ({key}) found alive under its
   * key, and returned without writing anything; false for a job made by the
   * call, and for any job read or made otherwise. */
  get existed() {
    return this._existed;
  }

  /** Any move of the table Redis holds, by its name (`MOVES` in the
   * scripts' manifest: 'start', 'finish', 'fail', ...): the named methods
   * below call it, and a move added to the table works here with no change
   * of this client.  `data`: any JSON value to store; `error`: as fail();
   * `lease`, `maxRuntime`: as start(); `delay`: as retry(). */
  async move(name, { data, error, lease, maxRuntime, delay } = {}) {
    if (typeof name !== 'string' || !Object.hasOwn(MOVES, name)) {
      throw new InvalidData(`no move ${JSON.stringify(name)}: the table has ${Object.keys(MOVES).join(', ')}`);
    }
    const call = this._commands.transition(this.id, MOVES[name].target, {
      data,
      error: error === undefined ? undefined : errorDetails(error),
      leaseMs: optionalMs(lease, 'lease'),
      maxRuntimeMs: optionalMs(maxRuntime, 'maxRuntime'),
      delayMs: delayMs(delay),
    });
    return this._do(call);
  }

  /** waiting -> running.  `lease`: seconds within which the worker must show
   * life (heartbeat/setProgress) or the job fails as stalled; `maxRuntime`:
   * seconds after which it fails as timed out. */
  async start({ lease, maxRuntime } = {}) {
    return this.move('start', { lease, maxRuntime });
  }

  /** running -> finished, storing `data` (any JSON value). */
  async finish(data = null) {
    return this.move('finish', { data });
  }

  /** running -> failed, with `error`: nothing, a message, an Error (its
   * type and message), or an object of details merged into the stored error. */
  async fail(error) {
    return this.move('fail', { error: error === undefined ? null : error });
  }

  /** waiting / running -> cancelled: a waiting job is never taken (its
   * queue entry goes in the same step); a running one's worker is refused
   * its next call (JobCancelled).  `error` is then
   * {reason: 'cancelled', message: reason || 'cancelled'}. */
  async cancel(reason = null) {
    return this.move('cancel', { error: cancelDetails(reason) });
  }

  /** failed / cancelled -> waiting, as a new attempt (`attempt` + 1, the
   * ended one kept in getValue().attempts).  A job of a queue goes back on
   * it, poppable `delay` seconds later; another job waits for whoever runs
   * it.  Finished jobs are not retried (InvalidTransition). */
  async retry({ delay } = {}) {
    await this.move('retry', { delay });
    await this._wake();
    return this;
  }

  /** Wake the workers blocked on the job's queue, if it has one. */
  async _wake() {
    if (this.queue !== null) await notify(this.client, this._commands.keys.wakeKey(this.queue));
  }

  /** Show the job's worker is alive (renews its lease). */
  async heartbeat() {
    return this._do(this._commands.touch(this.id));
  }

  /** Report progress of a running job (also renews its lease). */
  async setProgress(current, total = null, message = null) {
    return this._do(this._commands.touch(this.id, progressDetails(current, total, message)));
  }

  /** Reload the local copy from Redis (JobExpired if the record is gone). */
  async refresh() {
    const reply = await this._run(this._commands.get(this.id));
    const code = text(reply[0]);
    if (code === 'corrupt') {
      this._fields = fieldsFromHash(await this.client.hGetAll(this._commands.keys.jobKey(this.id)));
    } else if (code !== 'ok') {
      throw errorFor('gone', this.id, { known: this._known });
    } else {
      this._fields = fieldsFromFlat(reply[1]);
    }
    this._known = true;
    return this;
  }

  /** The job once it has ended (finished, failed or cancelled), woken by
   * its shard's event stream (no polling); WaitTimeout after `timeout`
   * seconds (none: for ever), JobExpired if its record expires first. */
  async wait(timeout = null) {
    const until = waitDeadline(timeout, monotonic());
    const keys = this._commands.keys;
    const key = keys.eventsKey(keys.shardOf(this.id));
    for (;;) {
      const after = await lastStreamId(this.client, key); // before the check: no event slips by
      await this.refresh();
      if (this.isFinal) return this;
      const wake = wakeAt(this.id, this._fields, this.problems, until, monotonic());
      const ended = await waitForFinal(this.client, key, after, this.id, wake, endsJob);
      if (ended || monotonic() >= until) {
        await this.refresh(); // an ending event: read the record it ended with at once
        if (this.isFinal) return this;
        if (!ended) throw new WaitTimeout(this.id, timeout ?? 0);
      }
    }
  }

  /** A JSON-able snapshot of the local copy, as get_value() in Python. */
  getValue() {
    return toValue(this.id, this._fields);
  }

  /** The transitions recorded in the local copy, oldest first (see
   * Handler.history): as history() in Python, times as ISO 8601 text. */
  history() {
    return history(this._fields);
  }

  /** Replace the local copy with what Redis returned (an HGETALL reply) or
   * with what getValue() returned. */
  setValue(reply) {
    this._fields = fromValue(reply);
    this._known = Object.keys(this._fields).length > 0;
  }

  /** The local copy of a job create_many made (its reply's fields). */
  _created(fields) {
    this._fields = { ...fields };
    this._known = true;
  }

  async _run(call) {
    await checkLayout(this.client, this._commands.keys, false);
    return run(this.client, call);
  }

  /** Run a call and take its reply into the local copy; reject with its error. */
  async _do(call) {
    return this._apply(call, await this._run(call));
  }

  /** Take a call's reply into the local copy; throw its error. */
  _apply(call, reply) {
    const code = text(reply[0]);
    if (code === 'ok') {
      const fields = fieldsFromFlat(reply[1] || []);
      if (reply.length > 2) {
        Object.assign(this._fields, fields); // the fields this call wrote
      } else {
        const kept = this._fields; // a replay: the whole record, its payloads aside
        this._fields = fields;
        for (const f of PAYLOAD_FIELDS) if (kept[f] !== undefined && !(f in fields)) this._fields[f] = kept[f];
      }
      if (call.data !== null && call.data !== undefined) this._fields[call.stores || 'data'] = call.data;
      for (const name of call.clears || []) delete this._fields[name];
      this._known = true;
      return this;
    }
    if (code === 'bad') this._fields = fieldsFromFlat(reply[1] || []); // the whole record, data included
    const current = code === 'bad' ? this._fields.state ?? '?' : '?';
    // {'corrupt', field}; {'nogroup', group id} / {'closed', group id}: a child refused, or a read of a non-group
    const field = ['corrupt', 'nogroup', 'closed'].includes(code) && reply.length > 1 ? text(reply[1]) : '?';
    const error = errorFor(code, this.id, { target: call.target, current, known: this._known, field, action: call.action });
    if (code === 'bad') this._known = true;
    throw error;
  }
}

/** A job that tracks a batch of children (Handler.createGroup): its state
 * follows theirs, its counts change in the same script as each child's
 * move (docs/data-model.md, "Groups").  Read it with handler.get(id) or
 * handler.group(id).  Its own start, finish and fail are refused
 * (InvalidTransition): it moves with its children. */
class Group extends Resource {
  /** Whether no child may join any more (as last read). */
  get closed() {
    return 'closed' in this._fields;
  }

  /** Read the group (its expired children counted first), closing it
   * first with `close`. */
  async _group(close = false) {
    return this._do(this._commands.group(this.id, close));
  }

  /** The children per state (every state), exact, read in O(1); children
   * that expired before they ended count as failed. */
  async counts() {
    await this._group();
    return groups.countsOf(this._fields);
  }

  /** {current: ended children, total: children}, read now (a method, not
   * Resource's `progress` of a worker's report: a group has none). */
  async progress() {
    await this._group();
    return groups.progressOf(this._fields);
  }

  /** No child may join from now on; once every child has ended, the group
   * ends (at once when they all have). */
  async close() {
    return this._group(true);
  }

  /** A page of the group's live children (in `state`: one state name, null
   * for all), newest first; `page.cursor` gets the next (null at the end).
   * Takes {state, limit, cursor}, or (state, {limit, cursor}) as Python. */
  async children(state = null, options = {}) {
    if (state !== null && typeof state === 'object' && !Array.isArray(state)) [state, options] = [state.state ?? null, state];
    const { limit = 50, cursor = null } = options;
    const { ids, next, records } = await this._childrenPage(state, limit, cursor);
    const page = [];
    ids.forEach((id, i) => {
      if (records[i] !== null) page.push(records[i]);
    });
    page.cursor = next;
    return page;
  }

  /** {ids, next cursor, records (a Resource or null per id)} of one page
   * of children (the `children` script, then each one read). */
  async _childrenPage(state, limit, cursor) {
    if (state !== null && state !== undefined && typeof state !== 'string') {
      throw new JobberTrackError(`state must be one state name, not ${pyRepr(state)}`);
    }
    const wanted = state === null || state === undefined ? '' : statesOf(state)[0];
    bulk.checkLimit(limit);
    const after = groups.childrenAfter(cursor);
    const reply = await this._run(this._commands.children(this.id, wanted, limit, after, groups.CHILDREN_BUDGET));
    const ids = (reply[0] || []).map(text);
    const last = text(reply[1] ?? '');
    const records = await Promise.all(ids.map((id) => this._readChild(id)));
    return { ids, next: last ? groups.childrenCursor(last) : null, records };
  }

  /** A child read now, or null when it is gone (as Python reads it: a Resource, not the factory's). */
  async _readChild(id) {
    const reply = await run(this.client, this._commands.get(id));
    const code = text(reply[0]);
    let fields;
    if (code === 'ok') fields = fieldsFromFlat(reply[1]);
    else if (code === 'corrupt') fields = fieldsFromHash(await this.client.hGetAll(this._commands.keys.jobKey(id)));
    if (!fields || !Object.keys(fields).length) return null;
    const child = new Resource(this.client, id)._bind(this._commands);
    child._created(fields);
    return child;
  }

  /** `make(child id)`'s call for every live child in `state`, a page at a
   * time: how many took effect, and the queues of those. */
  async _actOnChildren(state, make) {
    let done = 0;
    let cursor = null;
    const queues = new Set();
    do {
      const page = await this._childrenPage(state, groups.ACT_BATCH, cursor);
      cursor = page.next;
      const replies = await Promise.all(page.ids.map((id) => run(this.client, make(id))));
      replies.forEach((reply, i) => {
        if (text(reply[0]) !== 'ok') return;
        done += 1;
        const queue = page.records[i]?.queue;
        if (queue !== null && queue !== undefined) queues.add(queue);
      });
    } while (cursor !== null);
    return { done, queues };
  }

  /** Close the group, cancel its waiting children and ask its running ones
   * to stop (their workers' next call rejects with JobCancelled); it then
   * ends 'failed' with the cancelled counted in its error. */
  async cancel(reason = null) {
    const error = cancelDetails(reason);
    await this._group(true);
    for (const state of ['waiting', 'running']) {
      await this._actOnChildren(state, (id) => this._commands.transition(id, MOVES.cancel.target, { error }));
    }
    return this._group();
  }

  /** Retry every failed child (see Resource.retry): the group runs again
   * until they end.  How many were retried. */
  async retryFailed({ delay } = {}) {
    const ms = delayMs(delay);
    const { done, queues } = await this._actOnChildren('failed', (id) => this._commands.transition(id, MOVES.retry.target, { delayMs: ms }));
    for (const queue of [...queues].sort()) await notify(this.client, this._commands.keys.wakeKey(queue));
    await this._group();
    return done;
  }
}

/** A keyed create cannot join a group yet (its id is the key's claim). */
function noKeyWithGroup(group) {
  if (group !== undefined && group !== null) {
    throw new JobberTrackError('key and group cannot be given together (yet): make the child without a key');
  }
}

/** Refuse the options a call does not take (a misspelt filter would
 * otherwise widen what it reads). */
function refuseOthers(what, rest, takes) {
  const others = Object.keys(rest);
  if (others.length) throw new JobberTrackError(`${what}() takes ${takes.join(', ')}; not ${others.join(', ')}`);
}

const LIST_OPTIONS = ['limit', 'cursor', 'tag', 'queue', 'name', 'createdAfter', 'createdBefore', 'order'];

/** list()'s options, `created_after` / `created_before` (Python's spelling)
 * taken as `createdAfter` / `createdBefore`. */
function listOptions({ created_after: after, created_before: before, ...options } = {}) {
  for (const [snake, camel, value] of [['created_after', 'createdAfter', after], ['created_before', 'createdBefore', before]]) {
    if (value === undefined) continue;
    if (options[camel] !== undefined) throw new JobberTrackError(`list() takes ${camel} or ${snake}, not both`);
    options[camel] = value;
  }
  const { limit, cursor, tag, queue, name, createdAfter, createdBefore, order, ...rest } = options;
  refuseOthers('list', rest, LIST_OPTIONS);
  return options;
}

function fieldsFromHash(hash) {
  return Object.fromEntries(Object.entries(hash || {}).map(([k, v]) => [k, text(v)]));
}

/** Makes resources.  Subclass and override create() to choose your own ids. */
class ResourceFactory {
  /** A new resource with a new unique time-ordered id (not saved yet). */
  create(client) {
    return new Resource(client, newId());
  }

  /** The resource for a record read from Redis. */
  load(client, id, reply) {
    const resource = new Resource(client, id);
    resource.setValue(reply);
    return resource;
  }
}

/** Creates and finds jobs of one namespace. */
class Handler {
  /**
   * @param client a connected node-redis client (createClient or createCluster)
   * @param resourceFactory optional: how ids are chosen (a ResourceFactory)
   * @param options namespace ('jt'), shards (16), defaultTimeout, maxDataBytes,
   *   maxEvents, tombstoneTtl, maxTombstones: as the Python Handler's
   */
  constructor(client, resourceFactory = null, options = {}) {
    if (!client || typeof client.evalSha !== 'function') {
      throw new errors.JobberTrackError('client must be a node-redis client (createClient or createCluster)');
    }
    this.client = client;
    this.resourceFactory = resourceFactory || new ResourceFactory();
    const { defaultTimeout, ...limits } = options;
    this._commands = new Commands(limits);
    this._defaultTimeoutMs = null;
    if (defaultTimeout !== undefined && defaultTimeout !== null) this.setDefaultTimeout(defaultTimeout);
  }

  get namespace() {
    return this._commands.keys.namespace;
  }

  /** The lifetime, in seconds, of jobs created without a timeout. */
  setDefaultTimeout(timeout) {
    this._defaultTimeoutMs = durationMs(timeout);
  }

  _timeoutMs(timeout) {
    if (timeout === undefined || timeout === null) {
      if (this._defaultTimeoutMs === null) {
        throw new InvalidTimeout('create() needs a timeout: pass one, or call setDefaultTimeout() first');
      }
      return this._defaultTimeoutMs;
    }
    return durationMs(timeout);
  }

  _adopt(resource) {
    if (!(resource instanceof Resource)) {
      throw new JobberTrackError('the resource factory must return a jobbertrack Resource');
    }
    return resource._bind(this._commands);
  }

  /** A new job in state 'waiting' whose record lives `timeout` seconds
   * (or the default timeout); options: {data, name}: data, and the fields
   * set at create (the scripts' manifest, `fields.create`); `key`: an
   * idempotency key: while a job made with it lives, that job is returned
   * (`existed` true) and nothing is written. */
  async create(timeout, { key, group, ...options } = {}) {
    const timeoutMs = this._timeoutMs(timeout);
    if (key !== undefined && key !== null) {
      noKeyWithGroup(group);
      const checked = idem.checkKey(key);
      const made = (job) => this._commands.create(job.id, timeoutMs, { ...options, key: checked });
      return this._keyed(checked, made, timeoutMs);
    }
    const withGroup = group === undefined || group === null ? options : { ...options, group: checkId(group) };
    return this._create(await this._newJob(group), timeoutMs, withGroup);
  }

  /** A new (unsaved) resource of the factory; a child of `group` gets an id
   * in its group's shard (drawn from the factory until one falls there,
   * 64 x shards tries at most; in_shard in _core/groups.py). */
  async _newJob(group = null) {
    if (group === undefined || group === null) return this._adopt(await this.resourceFactory.create(this.client));
    const keys = this._commands.keys;
    const shard = keys.shardOf(checkId(group));
    const made = await groups.inShard(() => this.resourceFactory.create(this.client), shard, (id) => keys.shardOf(id), keys.shards);
    return this._adopt(made);
  }

  /** A new group: a job whose children join it with create / push /
   * createMany(..., {group: group.id}) until group.close().  Its state
   * follows its children's; it ends once closed with every child ended.
   * `then` = {queue, data, name}: when it ends, one follow-up job is pushed
   * on `queue` in the same step, its data {group: id, counts: {...}, data}.
   * `children`: specs ({data, name, queue (to push it), tags, timeout,
   * retries, backoff, priority, delay}) made with the group, which is then
   * closed.  Every argument is checked before anything is written. */
  async createGroup(timeout, { name, data, then, children, ...rest } = {}) {
    refuseOthers('createGroup', rest, ['name', 'data', 'then', 'children']);
    const timeoutMs = this._timeoutMs(timeout);
    const thenPairs = groups.thenFields(then, (value, what) => this._commands.json(value, what));
    const specs = children === undefined || children === null ? null : groups.checkChildren(children);
    const made = await this.resourceFactory.create(this.client);
    const group = this._adopt(new Group(this.client, made.id));
    const thenId = thenPairs.length ? (await this._newJob(group.id)).id : null;
    const call = this._commands.create(group.id, timeoutMs, { data, name, groupPairs: groups.groupFields(thenPairs, thenId) });
    const kids = [];
    for (const spec of specs || []) kids.push(await this._childCall(spec, group.id, timeout));
    await checkLayout(this.client, this._commands.keys, true);
    await group._do(call);
    if (specs === null) return group;
    const replies = await this._exec()(kids.map(([, c]) => c));
    kids.forEach(([job, c], i) => job._apply(c, replies[i]));
    await group._group(true);
    const queues = new Set(kids.map(([job]) => job.queue).filter((q) => q !== null));
    for (const queue of [...queues].sort()) await notify(this.client, this._commands.keys.wakeKey(queue));
    return group;
  }

  /** [job, call] of a child of createGroup({children}): pushed when its
   * spec has a queue, else created; its timeout is the group's unless given. */
  async _childCall(spec, groupId, timeout) {
    const job = await this._newJob(groupId);
    const given = 'timeout' in spec ? spec.timeout : timeout;
    const timeoutMs = this._timeoutMs(given);
    if ('queue' in spec) {
      const { queue, delay, retries = 0, backoff, priority = 0 } = spec;
      checkQueue(queue);
      checkRetries(retries);
      checkPriority(priority);
      if (secondsMs(delay, 'delay') >= timeoutMs) throw new JobberTrackError("delay must be shorter than the job's timeout");
      const fields = [...createFields({ name: spec.name, tags: spec.tags }), 'group', groupId];
      const stored = spec.data === null || spec.data === undefined ? undefined : spec.data;
      const call = pushCall(
        this._commands, job.id, timeoutMs, queue, secondsMs(delay, 'delay'), retries, secondsMs(backoff, 'backoff'), stored, fields, priority,
      );
      return [job, call];
    }
    return [job, this._commands.create(job.id, timeoutMs, { data: spec.data, name: spec.name, tags: spec.tags, group: groupId })];
  }

  /** The group with this id, read now (its expired children counted
   * first); GroupNotFound when the job is not a group, JobNotFound when
   * there is no such job. */
  async group(id) {
    const group = this._adopt(new Group(this.client, checkId(id)));
    return group._group();
  }

  /** A keyed create or push (lib/idem.cjs), by `makeCall(job)`. */
  async _keyed(key, makeCall, lifetimeMs) {
    const io = {
      fresh: async () => this._adopt(await this.resourceFactory.create(this.client)),
      named: (id) => this._adopt(new Resource(this.client, id)),
      run: async (call) => { // the layout checked once the first call is built: a refused one writes nothing
        await checkLayout(this.client, this._commands.keys, true);
        return run(this.client, call);
      },
      read: (id) => this.get(id),
    };
    return idem.keyedCreate(this._commands, io, key, makeCall, lifetimeMs);
  }

  /** Save `resource` (a factory's, not saved yet) as a new waiting job. */
  async _create(resource, timeoutMs, options) {
    const job = this._adopt(resource);
    const call = this._commands.create(job.id, timeoutMs, options);
    await checkLayout(this.client, this._commands.keys, true);
    return job._do(call);
  }

  // -- the work queue (docs/data-model.md, "Work queue"; lib/queue.cjs) --

  /** A new 'waiting' job on `queue` ('default'), made and queued in one
   * atomic script.  `delay`: seconds before it may be popped; `retries`:
   * attempts allowed after a failed one, each `backoff` seconds later;
   * `priority` (-999999 to 999999, default 0): a higher one pops first, in
   * push order within one; `name`, `tags`, `key`: as create's.  `data` null stores no data. */
  async push(data = null, { queue = 'default', timeout, name, tags, delay, retries = 0, backoff, priority = 0, key, group } = {}) {
    const timeoutMs = this._timeoutMs(timeout);
    checkQueue(queue);
    checkRetries(retries);
    checkPriority(priority);
    if (secondsMs(delay, 'delay') >= timeoutMs) throw new JobberTrackError("delay must be shorter than the job's timeout");
    secondsMs(backoff, 'backoff');
    if (key !== undefined && key !== null) {
      noKeyWithGroup(group);
      const checked = idem.checkKey(key);
      const given = data === null || data === undefined ? undefined : data;
      const made = (job) => pushCall(
        this._commands, job.id, timeoutMs, queue, secondsMs(delay, 'delay'), retries, secondsMs(backoff, 'backoff'), given,
        [...createFields({ name, tags }), 'key', checked], priority,
      );
      const job = await this._keyed(checked, made, timeoutMs);
      if (!job.existed) await notify(this.client, this._commands.keys.wakeKey(queue));
      return job;
    }
    const options = { queue, timeoutMs, name, tags, delay, retries, backoff, priority, group };
    return this._push(await this._newJob(group), data, options);
  }

  async _push(resource, data, { queue, timeoutMs, name, tags, delay, retries, backoff, priority = 0, group = null }) {
    const job = this._adopt(resource);
    const fields = createFields({ name, tags });
    if (group !== null && group !== undefined) fields.push('group', checkId(group)); // the group it joins
    const given = data === null || data === undefined ? undefined : data;
    const call = pushCall(
      this._commands, job.id, timeoutMs, queue, secondsMs(delay, 'delay'), retries, secondsMs(backoff, 'backoff'), given, fields,
      priority,
    );
    await checkLayout(this.client, this._commands.keys, true);
    await job._do(call);
    await notify(this.client, this._commands.keys.wakeKey(queue));
    return job;
  }

  /** The oldest poppable job of `queue`, started with `lease` (seconds,
   * default 60) and `maxRuntime` in the same atomic step, or null.
   * `block` null: do not wait; S: wait up to S seconds; 0: for ever.
   * Waiting blocks on the queue's wake-up list (BLPOP on a connection of
   * its own; a push wakes one worker), as Python's pop_and_start. */
  async popAndStart(queue = 'default', { block = null, lease = 60, maxRuntime = null } = {}) {
    const found = await this._pop(queue, { block, lease, maxRuntime });
    return found === null ? null : this._adopt(await this.resourceFactory.load(this.client, found[0], found[1]));
  }

  /** [id, fields] of the job popped and started, or null (see popAndStart). */
  async _pop(queue, { block = null, lease = 60, maxRuntime = null } = {}) {
    checkQueue(queue);
    const leaseMs = optionalMs(lease, 'lease');
    const maxrtMs = optionalMs(maxRuntime, 'max_runtime');
    const until = blockDeadline(block, monotonic());
    const keys = this._commands.keys;
    const wakeKey = keys.wakeKey(queue);
    await checkLayout(this.client, keys, false);
    this._hints ??= new Map();
    if (!this._hints.has(queue)) this._hints.set(queue, new Hints());
    const hints = this._hints.get(queue);
    const exec = (calls) => Promise.all(calls.map((call) => run(this.client, call)));
    const waiter = new Waiter(until, monotonic());
    for (;;) {
      const { popped, wakeIn } = await popOnce(this._commands, exec, queue, leaseMs, maxrtMs, hints, monotonic());
      if (popped) {
        if (waiter.passOn(hints)) await notify(this.client, wakeKey);
        return [checkId(popped[0]), fieldsFromFlat(popped[1])];
      }
      for (;;) {
        const blockUntil = waiter.blockUntil(wakeIn, monotonic());
        if (blockUntil === null) return null;
        const step = waiter.afterWait(await awaitWake(this.client, wakeKey, blockUntil), monotonic());
        if (step === 'done') return null;
        if (step === 'claim' && !(await claimRescan(this.client, keys.rescanKey(queue), RESCAN_MS))) continue;
        break;
      }
    }
  }

  /** How many live jobs wait on `queue` (delayed ones included), counted exactly. */
  async queued(queue = 'default') {
    const calls = queuedCalls(this._commands, checkQueue(queue));
    await checkLayout(this.client, this._commands.keys, false);
    const replies = await Promise.all(calls.map((call) => run(this.client, call)));
    return replies.reduce((sum, n) => sum + Number(n), 0);
  }

  // -- reading many jobs --

  /** One page of live jobs in `state` (null: every state; or several), as
   * Python's list(): an array whose `cursor` gets the next page (null at
   * the end).  Newest created first (`order: 'expires'`: latest expiry
   * first).  Filters: `tag` (one, or an array all of which a job has),
   * `queue`, `name` (a prefix of the job's name), `createdAfter`
   * (inclusive) and `createdBefore` (exclusive), each a Date or epoch
   * seconds (`created_after`, `created_before`: the same, as Python
   * spells them).  A page the filters make sparse may come back short, its
   * cursor going on; the same pages and cursors as Python's. */
  async list(state = null, options = {}) {
    const { limit = 50, cursor = null, ...filters } = listOptions(options);
    const keys = this._commands.keys;
    const states = statesOf(state); // read once: `state` may be a one-shot iterator
    const wanted = makeFilter(states, state === null || state === undefined, filters);
    let plan;
    let ids;
    let next;
    if (wanted.order === 'expires' && !isNarrow(wanted)) {
      plan = new ListPlan(keys, states, limit, parseCursor(cursor));
      await checkLayout(this.client, keys, false);
      const second = plan.afterFirst(await this._exec()(plan.firstCalls()));
      if (second.length) plan.afterSecond(await this._exec()(second));
      [ids, next] = plan.result();
    } else {
      const at = parseCursor(cursor);
      new FindPlan(keys, wanted, limit, at); // a bad limit is refused before any I/O
      await checkLayout(this.client, keys, false);
      ({ plan, ids, next } = await findPage(keys, wanted, limit, at, this._exec()));
    }
    const page = plan.keep(await Promise.all(ids.map((id) => this.get(id))));
    page.cursor = next;
    return page;
  }

  /** The namespace's events as an async iterator (for await ... of):
   * {id, jobId, state, at, progress, error, cursor, isFinal}.  `since`:
   * null (the oldest retained), an event's id or cursor (resume after it),
   * or '$' (only new ones); `block`: null stops at the end, S waits up to
   * S seconds for each next event, 0 for ever. */
  events({ since = null, block = null } = {}) {
    return iterEvents(this.client, this._commands.keys, since, block);
  }

  /** The job `id` once it has ended (see Resource.wait); JobNotFound or
   * JobExpired when there is no such job. */
  async wait(id, timeout = null) {
    waitDeadline(timeout, monotonic()); // a bad timeout is refused before any read
    const job = await this.get(id);
    if (job === null) {
      const said = await this.status(id);
      throw errorFor(said === 'expired' || said === 'deleted' ? said : 'unknown', id);
    }
    return job.wait(timeout);
  }

  /** The job with this id, or null when it is unknown or expired (a running
   * job past its lease or run time is failed first, as in Python). */
  async get(id) {
    const jobId = checkId(id);
    const call = this._commands.get(jobId);
    await checkLayout(this.client, this._commands.keys, false);
    const reply = await run(this.client, call);
    const code = text(reply[0]);
    let record;
    if (code === 'ok') record = fieldsFromFlat(reply[1]);
    else if (code === 'corrupt') record = fieldsFromHash(await this.client.hGetAll(this._commands.keys.jobKey(jobId)));
    if (!record || !Object.keys(record).length) return null;
    if (groups.isGroup(record)) { // a group is a Group, whatever the factory (as Python reads it)
      const group = this._adopt(new Group(this.client, jobId));
      group.setValue(record);
      return group;
    }
    return this._adopt(await this.resourceFactory.load(this.client, jobId, record));
  }

  /** The job's transitions ({from, to, at}, and on the last `message`,
   * `reason` and `progress` when it has them), oldest first, from one
   * read; [] when it is unknown or expired. */
  async history(id) {
    const job = await this.get(id);
    return job === null ? [] : job.history();
  }

  /** `count` new waiting jobs (each a resource of the factory) living
   * `timeout` seconds (or the default timeout), made with one
   * `create_many` call per shard per `batch` (1000) jobs, all at once;
   * options: {data, name, batch}: data and name for every job, as
   * create's.  An id that exists rejects with JobExists once the others of
   * its batch round are made (as Python's create_many). */
  async createMany(count, timeout, { batch = 1000, group, ...options } = {}) {
    if (!Number.isInteger(count) || count < 0) {
      throw new JobberTrackError(`count must be an int >= 0, not ${pyRepr(count)}`);
    }
    if (!Number.isInteger(batch) || batch < 1) {
      throw new JobberTrackError(`batch must be an int >= 1, not ${pyRepr(batch)}`);
    }
    const { data, ...given } = options;
    createFields(given); // a bad field is refused before the timeout, as in Python
    if (group !== undefined && group !== null) {
      checkId(group);
      options.group = group; // the group they join (their ids in its shard)
    }
    const timeoutMs = this._timeoutMs(timeout);
    const jobs = [];
    for (let i = 0; i < count; i++) jobs.push(await this._newJob(group));
    const ids = jobs.map((job) => job.id);
    if (new Set(ids).size !== ids.length) {
      throw new JobberTrackError('the resource factory made the same id twice in one create_many()');
    }
    const byId = new Map(jobs.map((job) => [job.id, job]));
    if (ids.length) await checkLayout(this.client, this._commands.keys, true); // none made: nothing written
    for (let i = 0; i < ids.length; i += batch) {
      const batches = this._commands.createBatches(ids.slice(i, i + batch), timeoutMs, options);
      const replies = await this._exec()(batches.map(([, call]) => call));
      const refused = createdFields(batches, replies, (id, fields) => byId.get(id)._created(fields));
      if (refused) throw errorFor(refused[0], refused[1]);
    }
    return jobs;
  }

  /** The jobs for `ids` (an array or other iterable of ids, not one id),
   * read at once; null where there is none (as Python's get_many). */
  async getMany(ids) {
    if (typeof ids === 'string' || typeof ids?.[Symbol.iterator] !== 'function') {
      const kind = typeof ids === 'string' ? 'str' : ids === null || ids === undefined ? 'NoneType' : typeof ids;
      throw new errors.WrongType(`ids must be an iterable of str, not ${kind}`);
    }
    const wanted = [...ids].map(checkId);
    return Promise.all(wanted.map((id) => this.get(id)));
  }

  /** Live jobs in `state` (several: their sum; null: all states), with
   * `tag` (an array: all of them) and of `queue` when given; expired
   * records are never counted.  One tag or one queue alone costs O(1) per
   * shard (its tallies); both, or several tags, a listing. */
  async count(state = null, { tag, queue, ...rest } = {}) {
    refuseOthers('count', rest, ['tag', 'queue']);
    const wanted = makeFilter(statesOf(state), state === null || state === undefined, { tag, queue });
    const counts = await this._filteredCounts(wanted);
    return (wanted.states.length ? wanted.states : STATES).reduce((sum, s) => sum + counts[s], 0);
  }

  /** Per state, the live jobs matching `wanted` (lib/finding.cjs, filteredCounts). */
  async _filteredCounts(wanted) {
    const keys = this._commands.keys;
    await checkLayout(this.client, keys, false);
    const countCalls = Array.from({ length: keys.shards }, (_, i) => this._commands.count(i));
    return filteredCounts(keys, wanted, this._exec(), countCalls);
  }

  _exec() {
    return (calls) => Promise.all(calls.map((call) => run(this.client, call)));
  }

  /** Fail every running job of the namespace whose lease or maximum run
   * time has run out, and tidy expired index entries; how many jobs this
   * call failed (as Python's sweep). */
  async sweep() {
    await checkLayout(this.client, this._commands.keys, false);
    return bulk.sweep(this._commands, this._exec());
  }

  /** Retry up to `limit` (1000) jobs in `state` ('failed' or 'cancelled'),
   * of `queue` only when given, page by page over every shard, and wake
   * the workers of the queues they went back on; how many were retried. */
  async retryAll(state = 'failed', { queue = null, limit = 1000 } = {}) {
    const from = bulk.retryable(state);
    const only = queue === null || queue === undefined ? null : checkQueue(queue);
    bulk.checkLimit(limit);
    await checkLayout(this.client, this._commands.keys, false);
    const read = (keys) => Promise.all(keys.map((key) => this.client.hGetAll(key)));
    const [retried, queues] = await bulk.retryAll(this._commands, this._exec(), read, from, only, limit);
    for (const name of [...queues].sort()) await notify(this.client, this._commands.keys.wakeKey(name));
    return retried;
  }

  /** Delete up to `limit` (1000) jobs in the ended `state` that ended more
   * than `olderThan` seconds ago (by Redis' clock), page by page over every
   * shard; how many were deleted. */
  async clean(state, { olderThan, limit = 1000 } = {}) {
    const from = bulk.cleanable(state);
    bulk.checkLimit(limit);
    const olderMs = bulk.olderThanMs(olderThan);
    await checkLayout(this.client, this._commands.keys, false);
    return bulk.clean(this._commands, this._exec(), from, olderMs, limit);
  }

  // -- the fleet: queues and workers seen from above (lib/fleet.cjs) --

  /** The queues of the namespace, sorted: those with a waiting or running
   * job, the paused ones and the ones a live worker serves. */
  async queues() {
    const keys = this._commands.keys;
    await checkLayout(this.client, keys, false);
    const [replies, live] = await Promise.all([
      this._exec()(fleet.queuesCalls(keys)),
      fleet.readRegistry(this.client, keys, null),
    ]);
    return fleet.mergeQueues(replies, fleet.servedQueues(live));
  }

  /** `queue`'s numbers, read from each shard's queue entries (no job is
   * read): {name, waiting (ready to pop), delayed, running, oldest_wait_s
   * (how long the oldest ready job has waited; 0 when none), paused,
   * workers (live ones serving it)}: Python's queue_stats. */
  async queueStats(queue) {
    checkQueue(queue);
    const keys = this._commands.keys;
    await checkLayout(this.client, keys, false);
    const [replies, serving] = await Promise.all([
      this._exec()(fleet.qstatsCalls(keys, queue)),
      fleet.readRegistry(this.client, keys, queue),
    ]);
    return fleet.mergeQstats(queue, replies, serving.length);
  }

  /** Stop `queue`'s pops: until resume(), popAndStart returns nothing
   * (blocked workers stay blocked) while pushes are accepted; running jobs
   * go on.  In effect in every shard when it resolves. */
  async pause(queue) {
    checkQueue(queue);
    await checkLayout(this.client, this._commands.keys, false);
    await this._exec()(fleet.pauseCalls(this._commands.keys, queue));
  }

  /** Let `queue`'s pops go on, and wake its blocked workers. */
  async resume(queue) {
    checkQueue(queue);
    await checkLayout(this.client, this._commands.keys, false);
    await this._exec()(fleet.resumeCalls(this._commands.keys, queue));
    await notify(this.client, this._commands.keys.wakeKey(queue));
  }

  /** The live registered workers (Python's work() calls, `jobbertrack
   * work` processes, register_worker()), of `queue` only when given:
   * {id, host, pid, queues, concurrency, started_at, last_seen, jobs,
   * processed, failed}, oldest first.  The ids of workers whose record
   * expired (killed) are dropped from the registry's set. */
  async workers(queue = null) {
    const only = queue === null || queue === undefined ? null : checkQueue(queue);
    return fleet.readRegistry(this.client, this._commands.keys, only);
  }

  /** Live jobs per state (every state of STATES), with `tag` and of
   * `queue` when given (see count): one call per shard. */
  async counts({ tag, queue, ...rest } = {}) {
    refuseOthers('counts', rest, ['tag', 'queue']);
    return this._filteredCounts(makeFilter(STATES, true, { tag, queue }));
  }

  /** An operator's move on a job known by id: the move, then the whole
   * record read back (as _act_plan in Python). */
  async _act(id, name, options) {
    const job = this._adopt(new Resource(this.client, checkId(id)));
    await job.move(name, options);
    return job.refresh();
  }

  /** Cancel the job `id` (see Resource.cancel); the job after. */
  async cancel(id, reason = null) {
    return this._act(id, 'cancel', { error: cancelDetails(reason) });
  }

  /** Retry the job `id` (see Resource.retry); the job after. */
  async retry(id, { delay } = {}) {
    const job = await this._act(id, 'retry', { delay });
    await job._wake();
    return job;
  }

  /** Remove the job for good: its record and every index and queue entry,
   * in one step.  True if it was there; status() then says 'deleted' while
   * a tombstone remembers it, and a worker's later call on it rejects with
   * JobNotFound. */
  async delete(id) {
    const jobId = checkId(id);
    await checkLayout(this.client, this._commands.keys, false);
    const reply = await run(this.client, this._commands.delete(jobId));
    return text(reply[0]) === 'ok';
  }

  /** The job's state, 'expired' (a tombstone remembers it), 'deleted'
   * (removed by delete()), 'unknown', or 'corrupt' (a record whose state is
   * missing or malformed). */
  async status(id) {
    const jobId = checkId(id);
    await checkLayout(this.client, this._commands.keys, false);
    const reply = await run(this.client, this._commands.status(jobId));
    const said = Array.isArray(reply) ? 'corrupt' : text(reply);
    if (said === 'expired' || said === 'deleted' || said === 'unknown') {
      const left = await this.client.hGetAll(this._commands.keys.jobKey(jobId));
      if (left && Object.keys(left).length) return 'corrupt';
    }
    return [...STATES, 'expired', 'deleted', 'unknown'].includes(said) ? said : 'corrupt';
  }
}

module.exports = {
  Handler,
  Resource,
  Group,
  ResourceFactory,
  STATES,
  // WrongType stays inside, as in Python: catch JobberTrackError
  ...Object.fromEntries(Object.entries(errors).filter(([k]) => !['errorFor', 'translate', 'WrongType'].includes(k))),
  Tracker: Handler,
  Job: Resource,
};
