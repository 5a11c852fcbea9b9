// jt-node's worker of bench/workqueue.py (issue 25): the jobbertrack Node
// client (clients/node, CommonJS index.cjs) as a work-queue worker.
//   node queue_worker.mjs URL [QUEUE]   prints "ready", waits for a line on stdin,
//                                       then pops + finishes jobs of QUEUE ('default')
//                                       one at a time until none is left; prints
//                                       {"done": how many it finished}
// The client and node-redis come from the repository's clients/node (its
// node_modules, `make node`), not from an install of this directory.
//
// When it is done mirrors Python's `track.work(queue, handler, burst=True)`
// (src/jobbertrack/_work.py, _work_base.py): a pop that does not wait; when it
// finds nothing, the queue is counted (`queued`) and the worker leaves if it
// is empty, else (delayed entries or retries) pops again blocking up to 1 s.
// Each job is finished with its input (Python's handler returns job.data).
// Unlike `track.work`, no worker registration and no heartbeat thread: the
// Node client has `popAndStart` and `finish`, not a `work()` loop.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const client_ = createRequire(new URL('../../clients/node/index.cjs', import.meta.url));
const { Handler } = client_('./index.cjs');
const { createClient } = client_('redis');

const [url, queue = 'default'] = process.argv.slice(2);
const BURST_WAIT = 1; // seconds: Python's _work_base.BURST_WAIT
const LEASE = 60; // seconds: Python's work() default

const client = createClient({ url });
client.on('error', (err) => console.error('redis', err));

console.log('ready');
const lines = createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once('line', resolve));
lines.close();

// Connected after "go", as the other rows' workers (redis-py connects on its
// first command; BullMQ's Worker is made after the line).
await client.connect();
const track = new Handler(client);
let done = 0;
let pending = false;
for (;;) {
  const job = await track.popAndStart(queue, { block: pending ? BURST_WAIT : null, lease: LEASE });
  if (job !== null) {
    await job.finish(job.input);
    done += 1;
    continue;
  }
  pending = (await track.queued(queue)) > 0;
  if (!pending) break;
}
await client.quit();
console.log(JSON.stringify({ done }));
