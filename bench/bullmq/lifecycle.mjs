// BullMQ's lifecycle for bench/server_cost.py: N jobs added one at a time
// (a small payload), each completed by a Worker returning a small result,
// then getState of each.  Usage: node lifecycle.mjs PORT DB N
// Prints one JSON line: {"n": N, "seconds": wall time}.
import { Queue, Worker, QueueEvents } from "bullmq";

const [port, db, count] = process.argv.slice(2).map(Number);
const connection = { host: "127.0.0.1", port, db };
const name = `bench-${process.pid}-${Date.now()}`;
const PAYLOAD = { user: 42, op: "resize", size: [640, 480] };
const RESULT = { rows: 42, ok: true };

const queue = new Queue(name, { connection });
let done = 0;
let allDone;
const finished = new Promise((resolve) => (allDone = resolve));
const worker = new Worker(
  name,
  async () => RESULT,
  { connection, concurrency: 1, autorun: true },
);
worker.on("completed", () => {
  done += 1;
  if (done === count) allDone();
});
worker.on("failed", (job, err) => {
  console.error("failed", job && job.id, err);
  process.exit(2);
});
await worker.waitUntilReady();

const begin = process.hrtime.bigint();
const ids = [];
for (let i = 0; i < count; i += 1) {
  const job = await queue.add("job", PAYLOAD, { removeOnComplete: false, removeOnFail: false });
  ids.push(job.id);
}
await finished;
for (const id of ids) {
  const state = await queue.getJobState(id);
  if (state !== "completed") {
    console.error("unexpected state", id, state);
    process.exit(3);
  }
}
const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
await worker.close();
await queue.close();
console.log(JSON.stringify({ n: count, seconds }));
