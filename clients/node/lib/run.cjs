'use strict';
// Running calls on a node-redis client (createClient or createCluster):
// the only I/O of the package.  What it learns about a client (whether its
// server takes the `#!lua` header, which namespaces' layout it checked)
// lives in one state per client, as _client_state.py does in Python.
const { script, isCompileError } = require('./scripts.cjs');
const { translate, UnknownLayout } = require('./errors.cjs');
const { LAYOUT_VERSION, KNOWN_LAYOUTS } = require('./keys.cjs');

const states = new WeakMap();

function clientState(client) {
  let cs = states.get(client);
  if (!cs) {
    cs = { modern: true, scripts: new Map(), layouts: new Map(), pending: new Map() };
    states.set(client, cs);
  }
  return cs;
}

function scriptOf(cs, name) {
  const key = `${name}:${cs.modern}`;
  let s = cs.scripts.get(key);
  if (!s) {
    s = script(name, cs.modern);
    cs.scripts.set(key, s);
  }
  return s;
}

const isNoScript = (err) => String(err && err.message).startsWith('NOSCRIPT');

/** Run one call: EVALSHA, then EVAL when the server lacks the script, and
 * header-less text once a Redis < 7 refused the `#!lua` header. */
async function run(client, call) {
  const cs = clientState(client);
  const modern = cs.modern;
  const s = scriptOf(cs, call.script);
  const options = { keys: call.keys, arguments: call.args };
  let reply;
  try {
    try {
      reply = await client.evalSha(s.sha, options);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      reply = await client.eval(s.text, options);
    }
  } catch (err) {
    if (modern && isCompileError(err)) {
      cs.modern = false;
      return run(client, call);
    }
    throw translate(err);
  }
  if (!call.wakes) return reply;
  const [woken, rest] = splitWoken(call, reply);
  for (const key of woken) await notify(client, key); // a group's follow-up job was pushed
  return rest;
}

/** Where the reply of a script that may end a group names the queues its
 * follow-up job was pushed on (WOKE in _groups.lua), when it pushed one:
 * the element after the reply's usual ones (_WOKE_AT in _core/calls.py). */
const WOKE_AT = { transition: 3, group: 2 };

/** The wake-up lists to notify after `call`, and the reply without them,
 * as its readers know it (split_woken in _core/calls.py). */
function splitWoken(call, reply) {
  const at = call.wakes ? WOKE_AT[call.script] : undefined;
  if (at === undefined || !Array.isArray(reply) || reply.length <= at) return [[], reply];
  const queues = reply[at];
  return [Array.isArray(queues) ? queues.map((q) => call.wakes + String(q)) : [], reply.slice(0, at)];
}

/** Check the namespace's layout version once per client (and write it on
 * the first create): `<ns>:{layout}` (docs/data-model.md, "Layout version").
 * A missing stamp is the current layout (data written before stamps).
 * Concurrent first calls wait for one check rather than each sending one. */
async function checkLayout(client, keyspace, stamp) {
  const cs = clientState(client);
  const ns = keyspace.namespace;
  for (;;) {
    const done = cs.layouts.get(ns);
    if (done === true || (done === false && !stamp)) return;
    const pending = cs.pending.get(ns);
    if (!pending) break;
    await pending.catch(() => null); // its error is its caller's; look again
  }
  const check = readLayout(client, keyspace, stamp, cs).finally(() => cs.pending.delete(ns));
  cs.pending.set(ns, check);
  return check;
}

async function readLayout(client, keyspace, stamp, cs) {
  const key = keyspace.layoutKey();
  let found;
  try {
    const [, value] = await Promise.all([
      stamp ? client.set(key, LAYOUT_VERSION, { NX: true }).catch(() => null) : null,
      client.get(key),
    ]);
    found = value;
  } catch (err) {
    throw translate(err);
  }
  if (found !== null && found !== undefined && !KNOWN_LAYOUTS.includes(String(found))) {
    throw new UnknownLayout(keyspace.namespace, String(found), KNOWN_LAYOUTS);
  }
  if (cs.layouts.get(keyspace.namespace) !== true) cs.layouts.set(keyspace.namespace, stamp);
}

/** How long a wake-up list lives after its last token (WAKE_TTL_MS in _queue_base.py). */
const WAKE_TTL_MS = 86400000;

/** Wake one worker blocked on a queue (notify() in _run.py): a token on its
 * wake-up list, which holds at most one.  A hint only, so a failure is
 * ignored (the move itself has succeeded, and an idle worker rescans now
 * and then). */
async function notify(client, key) {
  if (typeof client.lPush !== 'function' || typeof client.pExpire !== 'function') return;
  try {
    await Promise.all([client.lPush(key, '1'), client.lTrim(key, 0, 0), client.pExpire(key, WAKE_TTL_MS)]);
  } catch {
    // a hint: see above
  }
}

module.exports = { run, checkLayout, clientState, notify, splitWoken };
