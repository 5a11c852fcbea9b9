'use strict';
// The original jobberTrack API (../../../shared/seed: the Node package this
// project re-imagines), callbacks and promises, on jobbertrack's data
// model: `require('jobbertrack/seed')` in place of `require('jobber-track')`.
//
//   const track = new Handler(client);          // a connected node-redis client
//   track.create(12, function (err, job) {
//     job.start(function (err) {
//       job.finish('some data to store', function (err) { ... });
//     });
//   });
//
// Every function calls back `(err, value)` when given a callback, and
// returns a promise of the value when not.  Moves are atomic, as in the
// rest of jobbertrack: an illegal one calls back with InvalidTransition and
// leaves `state` as Redis holds it.  Default ids are numbers, from a
// counter per namespace in Redis (`<ns>:{counter}`, docs/data-model.md).
const modern = require('./index.cjs');
const { Keyspace } = require('./lib/keys.cjs');
const { translate } = require('./lib/errors.cjs');

const { JobberTrackError } = modern;

/** `promise`, or undefined after handing its outcome to `callback`
 * (called on a later tick, so that what it throws is not swallowed). */
function settle(promise, callback) {
  if (typeof callback !== 'function') return promise;
  promise.then(
    (value) => process.nextTick(callback, null, value),
    (err) => process.nextTick(callback, err),
  );
  return undefined;
}

/** The trailing callback of `args`, if any, taken off. */
function takeCallback(args) {
  return typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
}

const isEmpty = (v) => v === null || v === undefined;
const SEED_KEYS = new Set(['state', 'data', 'result']);

/** One job: `id`, `state` and its data (a local copy, not live). */
class Resource {
  constructor(client, id) {
    if (typeof id !== 'number' && typeof id !== 'string') {
      throw new modern.InvalidJobId(`a job id must be a number or a string, not ${typeof id}`);
    }
    this.client = client;
    this.id = id;
    this._job = new modern.Resource(client, String(id));
    this._lease = null;
  }

  _bind(handler) {
    this._job._bind(handler._track._commands);
    return this;
  }

  /** 'waiting', 'running', 'failed', 'finished' (or 'cancelled', by an operator). */
  get state() {
    return this._job.state;
  }

  /** What finish() stored once there is a result, else what the job was created with. */
  get data() {
    return this._job.data;
  }

  /** waiting -> running; callback(err, resource). */
  start(callback) {
    return settle(this._job.start({ lease: this._lease }).then(() => this), callback);
  }

  /** running -> failed, storing `data` (optional) as the result; callback(err, resource). */
  fail(...args) {
    const callback = takeCallback(args);
    const options = args.length && args[0] !== undefined ? { data: args[0], error: null } : { error: null };
    return settle(this._job.move('fail', options).then(() => this), callback);
  }

  /** running -> finished, storing `data` (optional) as the result; callback(err, resource). */
  finish(...args) {
    const callback = takeCallback(args);
    const options = args.length && args[0] !== undefined ? { data: args[0] } : {};
    return settle(this._job.move('finish', options).then(() => this), callback);
  }

  /** Show the job's worker is alive (a job taken by popAndStart has a lease). */
  heartbeat(callback) {
    return settle(this._job.heartbeat().then(() => this), callback);
  }

  /** Reload from Redis; callback(err, resource). */
  refresh(callback) {
    return settle(this._job.refresh().then(() => this), callback);
  }

  /** What was read from Redis, in the seed's shape: {state, data, result},
   * `data` what the job was created with, `result` what finish or fail
   * stored ({} when none). */
  getValue() {
    const value = this._job.getValue();
    return {
      state: value.state,
      data: isEmpty(value.input) ? {} : value.input,
      result: isEmpty(value.result) ? {} : value.result,
    };
  }

  /** Set the content from what Redis returned (an HGETALL reply) or from
   * what getValue() returned (the seed's shape, or the modern client's). */
  setValue(reply) {
    const keys = reply && typeof reply === 'object' && !Array.isArray(reply) ? Object.keys(reply) : null;
    if (keys && keys.length && keys.every((k) => SEED_KEYS.has(k)) && typeof reply.data !== 'string') {
      const empty = (v) => isEmpty(v) || (typeof v === 'object' && !Array.isArray(v) && !Object.keys(v).length);
      this._job.setValue({
        state: reply.state,
        input: empty(reply.data) ? null : reply.data,
        result: empty(reply.result) ? null : reply.result,
      });
    } else {
      this._job.setValue(reply);
    }
  }
}

const NUMERIC = /^[1-9]\d{0,14}$/;

/** Makes resources.  The default ids are numbers from the namespace's
 * counter in Redis (INCR `<ns>:{counter}`); override create(client) to
 * choose others (a number or a string). */
class ResourceFactory {
  async create(client, namespace = 'jt') {
    try {
      return new Resource(client, Number(await client.incr(new Keyspace(namespace, 1).counterKey())));
    } catch (err) {
      throw translate(err);
    }
  }

  /** The resource for a record read from Redis (`id` a number when it is one of the counter's). */
  load(client, id, reply) {
    const resource = new Resource(client, typeof id === 'string' && NUMERIC.test(id) ? Number(id) : id);
    resource.setValue(reply);
    return resource;
  }
}

/** Creates and finds jobs, and the seed's queue (createAndPush, popAndStart). */
class Handler {
  /**
   * @param client a connected node-redis client (createClient or createCluster)
   * @param resourceFactory optional: how ids are chosen (numbers by default)
   * @param options as the modern Handler's (namespace, shards, defaultTimeout, ...)
   */
  constructor(client, resourceFactory = null, options = {}) {
    this._track = new modern.Handler(client, null, options);
    this.client = client;
    this.resourceFactory = resourceFactory || new ResourceFactory();
    this._timeout = options.defaultTimeout ?? null;
    /** Seconds within which a job taken by popAndStart must show life
     * (heartbeat) or it fails as stalled: how a dead worker is caught. */
    this.lease = 60;
  }

  get namespace() {
    return this._track.namespace;
  }

  /** The default lifetime of jobs, in seconds (null when none was set). */
  get timeout() {
    return this._timeout;
  }

  setDefaultTimeout(timeout) {
    this._track.setDefaultTimeout(timeout);
    this._timeout = timeout;
  }

  async _make() {
    const resource = await this.resourceFactory.create(this.client, this.namespace);
    if (!(resource instanceof Resource)) {
      throw new JobberTrackError('the resource factory must return a jobbertrack/seed Resource');
    }
    return resource._bind(this);
  }

  async _load(id, fields) {
    const resource = await this.resourceFactory.load(this.client, id, fields);
    return resource._bind(this);
  }

  /** create([timeout], [data], callback): a new job, 'waiting'.  A number
   * first is the timeout (else the default timeout), anything else the data. */
  create(...args) {
    const callback = takeCallback(args);
    let [timeout, data] = args.length >= 2 ? args : typeof args[0] === 'number' ? [args[0]] : [undefined, args[0]];
    return settle(this._create(timeout, data), callback);
  }

  async _create(timeout, data) {
    const timeoutMs = this._track._timeoutMs(timeout);
    const resource = await this._make();
    await this._track._create(resource._job, timeoutMs, data === undefined ? {} : { data });
    return resource;
  }

  /** get(id, callback): callback(err, resource), null when unknown or expired. */
  get(id, callback) {
    return settle(this._get(id), callback);
  }

  async _get(id) {
    const found = await this._track.get(String(id));
    return found === null ? null : this._load(id, { ...found._fields });
  }

  /** A new job on the default queue, with the default timeout;
   * callback(err, id). */
  createAndPush(data, callback) {
    return settle(this._createAndPush(data), callback);
  }

  async _createAndPush(data) {
    const timeoutMs = this._track._timeoutMs(undefined);
    const resource = await this._make();
    await this._track._push(resource._job, data, { queue: 'default', timeoutMs, retries: 0 });
    return resource.id;
  }

  /** The next job of the default queue, started (with `lease`): waits
   * until there is one; callback(err, resource). */
  popAndStart(callback) {
    return settle(this._popAndStart(), callback);
  }

  async _popAndStart() {
    const [id, fields] = await this._track._pop('default', { block: 0, lease: this.lease });
    return this._load(id, fields);
  }
}

const { Handler: _h, Resource: _r, ResourceFactory: _f, Tracker, Job, ...rest } = modern;

module.exports = { ...rest, Handler, Resource, ResourceFactory };
