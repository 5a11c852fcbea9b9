// A small JSON-lines driver of the Node client, for the Python suite
// (tests/node/): `node driver.mjs '<config JSON>'` connects to Redis
// ({"url": ...} or {"cluster": [url, ...]}, optional "handler" options),
// ({"ids": prefix}: ids from a factory of the test's), then answers one JSON
// line per request line on stdin:
//   {"op": "create", "timeout": 60, ...}  ->  {"ok": <result>} | {"error": {...}}
// Jobs it created or read are kept by id, so moves use the local copy as
// a worker would (a stale copy races like a real worker's).
import { createInterface } from 'node:readline';
import { createClient, createCluster } from 'redis';
import * as jt from 'jobbertrack';
import cjs from 'jobbertrack';
import * as seed from 'jobbertrack/seed';

const config = JSON.parse(process.argv[2]);
const client = config.cluster
  ? createCluster({ rootNodes: config.cluster.map((url) => ({ url })) })
  : createClient({ url: config.url });
client.on('error', () => {}); // reported by the failing call
await client.connect();
// {"ids": "order-"}: a user's factory that only chooses ids (the seed's ResourceFactory)
class Ids extends jt.ResourceFactory {
  n = 0;
  create(c) {
    return new jt.Resource(c, `${config.ids}${++this.n}`);
  }
}
const track = new jt.Handler(client, config.ids ? new Ids() : null, config.handler || {});
const jobs = new Map();
const seedTrack = new seed.Handler(client, null, { defaultTimeout: 60, ...(config.handler || {}) });

function keep(job) {
  if (job) jobs.set(job.id, job);
  return job;
}

async function job(id) {
  return jobs.get(id) || keep(await track.get(id)) || new jt.Resource(client, id);
}

const value = (job) => (job ? job.getValue() : null);

// options as JSON carries them, with {"$date": ms} taken as new Date(ms)
const dated = (options) => Object.fromEntries(
  Object.entries(options || {}).map(([k, v]) => [k, v && typeof v === 'object' && '$date' in v ? new Date(v.$date) : v]),
);

function describe(err) {
  const out = {
    name: err.constructor.name,
    message: err.message,
    isJobberTrackError: err instanceof jt.JobberTrackError,
    isInvalidTransition: err instanceof jt.InvalidTransition,
    isJobNotFound: err instanceof jt.JobNotFound,
  };
  for (const k of ['jobId', 'current', 'target', 'action', 'field', 'namespace', 'found']) if (k in err) out[k] = err[k];
  return out;
}

const MOVES = {
  start: (j, r) => j.start(r.options || {}),
  finish: (j, r) => j.finish(r.data),
  fail: (j, r) => j.fail(r.error === '__Error__' ? new TypeError('bad input') : r.error),
  progress: (j, r) => j.setProgress(r.current, r.total ?? null, r.message ?? null),
  heartbeat: (j) => j.heartbeat(),
  cancel: (j, r) => j.cancel(r.reason),
  retry: (j, r) => j.retry(r.options),
};

const OPS = {
  async create(r) {
    return value(keep(await track.create(r.timeout, r.options || {})));
  },
  async get(r) {
    return value(keep(await track.get(r.id)));
  },
  async moveByName(r) {   // Resource.move(name): any move of the table, by its name
    return value(await (await job(r.id)).move(r.name, r.options || {}));
  },
  async move(r) {
    return value(await MOVES[r.move](await job(r.id), r));
  },
  // an operator's calls on the handler, by id (the job read back whole)
  async cancel(r) {
    return value(await track.cancel(r.id, r.reason));
  },
  async retry(r) {
    return value(await track.retry(r.id, r.options));
  },
  async delete(r) {
    return track.delete(r.id);
  },
  async refresh(r) {
    return value(await (await job(r.id)).refresh());
  },
  async counts(r) {
    return r.options ? track.counts(r.options) : track.counts();
  },
  async status(r) {
    return track.status(r.id);
  },
  async forget() {
    jobs.clear();
    return null;
  },
  async load(r) {
    // load the jobs first (the copies a worker holds), then race on them
    for (const id of r.ids) keep(await track.get(id));
    return r.ids.length;
  },
  async race(r) {
    // every move at once, on the copies loaded before: per id "won" or the error
    const results = await Promise.allSettled(r.ids.map((id) => MOVES[r.move](jobs.get(id), r)));
    return results.map((x) => (x.status === 'fulfilled' ? 'won' : describe(x.reason)));
  },
  async setValue(r) {
    const job = new jt.Resource(null, r.id);
    job.setValue(r.reply);
    return { value: job.getValue(), state: job.state, data: job.data };
  },
  // the work queue and the readers of many jobs
  async push(r) {
    return value(keep(await track.push(r.data ?? null, r.options || {})));
  },
  // a keyed create or push ({key} in options): the job and whether it existed
  async keyed(r) {
    const made = r.via === 'push'
      ? await track.push(r.data ?? null, r.options || {})
      : await track.create(r.timeout, r.options || {});
    return { value: value(keep(made)), existed: made.existed, key: made.key };
  },
  async pushMany(r) {
    const jobs = await Promise.all(Array.from({ length: r.count }, (_, i) => track.push({ n: i }, r.options || {})));
    return jobs.map((j) => j.id);
  },
  async pop(r) {
    return value(keep(await track.popAndStart(r.queue, r.options || {})));
  },
  async queued(r) {
    return track.queued(r.queue);
  },
  async list(r) {
    const page = await track.list(r.state ?? null, dated(r.options));
    return { ids: page.map((j) => j.id), values: page.map(value), cursor: page.cursor };
  },
  async wait(r) {
    const started = performance.now();
    const job = await track.wait(r.id, r.timeout ?? null);
    return { value: value(job), ms: performance.now() - started, doneAt: Date.now() };
  },
  async events(r) {
    // up to r.count events (or the end); each with the ms since the call
    const started = performance.now();
    const out = [];
    for await (const e of track.events(r.options || {})) {
      out.push({ ...e, at: e.at.getTime(), ms: performance.now() - started, doneAt: Date.now() });
      if (r.count && out.length >= r.count) break;
    }
    return out;
  },
  // many jobs at once, and the fleet
  async getMany(r) {
    return (await track.getMany(r.ids)).map(value);
  },
  async history(r) {
    return track.history(r.id);
  },
  async createMany(r) {
    const made = await track.createMany(r.count, r.timeout, r.options || {});
    for (const j of made) keep(j);
    return made.map(value);
  },
  async count(r) {
    return r.options ? track.count(r.state ?? null, r.options) : track.count(r.state ?? null);
  },
  async sweep() {
    return track.sweep();
  },
  async retryAll(r) {
    return track.retryAll(r.state, r.options || {});
  },
  async clean(r) {
    return track.clean(r.state, r.options || {});
  },
  async queues() {
    return track.queues();
  },
  async queueStats(r) {
    return track.queueStats(r.queue);
  },
  async pause(r) {
    return track.pause(r.queue);
  },
  async resume(r) {
    return track.resume(r.queue);
  },
  async workers(r) {
    return track.workers(r.queue ?? null);
  },
  // jobbertrack/seed: {steps: ['create' | 'createAndPush' | 'get' | 'start' | 'finish' | 'fail'], data, result, id}
  async seed(r) {
    let job = null;
    let id = r.id;
    for (const step of r.steps) {
      if (step === 'create') job = await seedTrack.create(60, r.data);
      else if (step === 'createAndPush') id = await seedTrack.createAndPush(r.data);
      else if (step === 'get') job = await seedTrack.get(id);
      else if (step === 'finish' || step === 'fail') await job[step](r.result);
      else await job[step]();
    }
    return job ? { id: job.id, value: job.getValue() } : { id };
  },
  // groups: a group made or read here, and what it does
  async createGroup(r) {
    const group = keep(await track.createGroup(r.timeout, r.options || {}));
    return { value: value(group), isGroup: group instanceof jt.Group, closed: group.closed };
  },
  async group(r) {
    const group = keep(await track.group(r.id));
    return { value: value(group), isGroup: group instanceof jt.Group, closed: group.closed };
  },
  async groupCall(r) { // {id, call: 'counts' | 'progress' | 'close' | 'children' | 'cancel' | 'retryFailed', args}
    const found = jobs.get(r.id);
    const group = found instanceof jt.Group ? found : keep(await track.group(r.id));
    const out = await group[r.call](...(r.args || []));
    if (out === group) return { value: value(group), closed: group.closed };
    if (Array.isArray(out)) return { ids: out.map((j) => j.id), values: out.map(value), cursor: out.cursor };
    return out;
  },
  async info() {
    return {
      esm: Object.keys(jt).filter((k) => k !== 'default').sort(),
      cjs: Object.keys(cjs).sort(),
      same: jt.Handler === cjs.Handler && jt.InvalidTransition === cjs.InvalidTransition,
    };
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  let reply;
  try {
    reply = { ok: (await OPS[request.op](request)) ?? null };
  } catch (err) {
    reply = { error: describe(err) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
await client.quit().catch(() => {});
