// A Node worker for the Python suite's queue tests (tests/node/):
// `node worker.mjs '<config JSON>' QUEUE` pops jobs of QUEUE (blocking on
// the queue's wake-up stream), prints `popped <id> <attempt>` for each,
// finishes it with its input, and exits (`done <errors>`) once a pop found
// nothing for 2 s and nothing is queued.
import { createClient, createCluster } from 'redis';
import { Handler, JobberTrackError } from 'jobbertrack';

const config = JSON.parse(process.argv[2]);
const queue = process.argv[3] || 'default';
const client = config.cluster
  ? createCluster({ rootNodes: config.cluster.map((url) => ({ url })) })
  : createClient({ url: config.url });
client.on('error', () => {});
await client.connect();
const track = new Handler(client, null, config.handler || {});
let errors = 0;
for (;;) {
  const job = await track.popAndStart(queue, { block: 2, lease: 30 });
  if (job === null) {
    if ((await track.queued(queue)) === 0) break;
    continue;
  }
  process.stdout.write(`popped ${job.id} ${job.getValue().attempt}\n`);
  try {
    await job.finish(job.input);
  } catch (err) {
    if (!(err instanceof JobberTrackError)) throw err;
    errors += 1;
    process.stdout.write(`error ${job.id} ${err.message}\n`);
  }
}
process.stdout.write(`done ${errors}\n`);
await client.quit().catch(() => {});
