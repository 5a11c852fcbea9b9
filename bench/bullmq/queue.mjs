// BullMQ's rows of bench/workqueue.py.
//   node queue.mjs push PORT N   adds N jobs one at a time, prints the seconds it took
//   node queue.mjs shas          prints {sha1: name} of BullMQ's scripts (what EVALSHA sends)
//   node queue.mjs work PORT     one worker (concurrency 1): prints "ready", waits for a
//                                line on stdin, then completes jobs (returning their data)
//                                until the queue is drained; prints how many it completed
import { Queue, Worker } from "bullmq";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const [mode, port, count] = process.argv.slice(2);
const connection = { host: "127.0.0.1", port: Number(port) };
const NAME = "bench";

if (mode === "shas") {
  const scripts = createRequire(import.meta.url)("bullmq/dist/cjs/scripts/index.js");
  const names = {};
  for (const script of Object.values(scripts)) {
    if (script && script.content) names[createHash("sha1").update(script.content).digest("hex")] = script.name;
  }
  console.log(JSON.stringify(names));
} else if (mode === "push") {
  const queue = new Queue(NAME, { connection });
  await queue.waitUntilReady();
  const began = process.hrtime.bigint();
  for (let i = 0; i < Number(count); i += 1) {
    await queue.add("job", { n: i }, { removeOnComplete: false, removeOnFail: false });
  }
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  await queue.close();
  console.log(JSON.stringify({ seconds }));
} else if (mode === "work") {
  console.log("ready");
  const lines = createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once("line", resolve));
  lines.close();
  let done = 0;
  const worker = new Worker(NAME, async (job) => job.data, { connection, concurrency: 1, autorun: false });
  worker.on("completed", () => {
    done += 1;
  });
  worker.on("failed", (job, err) => {
    console.error("failed", job && job.id, err);
    process.exit(2);
  });
  const drained = new Promise((resolve) => worker.once("drained", resolve));
  worker.run();
  await drained;
  await worker.close();
  console.log(JSON.stringify({ done }));
  process.exit(0);
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(1);
}
