// Compiled (not run) by `npm run typecheck`: the types an ES module user sees.
import { createClient, createCluster } from 'redis';
import {
  Handler,
  InvalidTransition,
  JobCancelled,
  ResourceFactory,
  Resource,
  Group,
  GroupClosed,
  GroupNotFound,
  WaitTimeout,
  type GroupCounts,
  type GroupProgress,
  type HistoryStep,
  type JobValue,
  type QueueStats,
  type State,
  type WorkerInfo,
} from 'jobbertrack';

export async function example(): Promise<void> {
  const client = await createClient().connect();
  const track = new Handler(client, null, { namespace: 'jt' });
  track.setDefaultTimeout(60);
  const job = await track.create(12, { data: { input: 1 }, name: 'resize' });
  await job.start({ lease: 30, maxRuntime: 600 });
  await job.setProgress(1, 10, 'one of ten');
  await job.heartbeat();
  await job.finish({ rows: 3 });
  const value: JobValue = job.getValue();
  const state: State | null = job.state;
  const same = await track.get(job.id);
  same?.setValue(value);
  const counts: Record<State, number> = await track.counts();
  const status: string = await track.status(job.id);
  const once = await track.create(60, { key: 'order-42', data: 1 });
  const existed: boolean = once.existed;
  const key: string | null = once.key;
  const keyOfValue: string | undefined = once.getValue().key;
  await track.push(null, { queue: 'mail', key: 'mail-42' });
  console.log(existed, key, keyOfValue);
  const other = await track.create(60);
  await other.cancel('not needed');
  await other.retry({ delay: 5 });
  const cancelled: State | null = (await track.cancel(other.id)).state;
  const retried = await track.retry(other.id, { delay: 0 });
  const deleted: boolean = await track.delete(retried.id);
  try {
    await other.heartbeat();
  } catch (err) {
    if (err instanceof JobCancelled) console.log(err.current, cancelled, deleted);
  }
  try {
    await job.fail(new Error('late'));
  } catch (err) {
    if (err instanceof InvalidTransition) console.log(err.jobId, err.current, err.target);
  }
  class MyIds extends ResourceFactory {
    override create(c: any): Resource {
      return new Resource(c, `mine-${Date.now()}`);
    }
  }
  new Handler(client, new MyIds());
  new Handler(createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:7000' }] }), null, { shards: 16 });
  console.log(state, counts, status);
}

export async function queueExample(track: Handler): Promise<void> {
  const pushed = await track.push({ to: 'a' }, { queue: 'mail', timeout: 60, delay: 1, retries: 2, backoff: 5, name: 'send' });
  const job = await track.popAndStart('mail', { block: 5, lease: 30, maxRuntime: 600 });
  const waiting: number = await track.queued('mail');
  const page = await track.list(['waiting', 'running'], { limit: 10 });
  const next = await track.list(null, { cursor: page.cursor });
  for await (const event of track.events({ since: '$', block: 1 })) {
    const at: Date = event.at;
    console.log(event.jobId, event.state, at, event.cursor, event.isFinal);
    break;
  }
  const ended = await track.wait(pushed.id, 10);
  try {
    await (job ?? pushed).wait(0.1);
  } catch (err) {
    if (err instanceof WaitTimeout) console.log(err.jobId, err.timeout);
  }
  const tagged = await track.list('waiting', { tag: ['mail', 'urgent'], queue: 'mail', name: 'send', limit: 5 });
  const recent = await track.list(null, { createdAfter: new Date(Date.now() - 3600e3), createdBefore: Date.now() / 1000, order: 'expires' });
  const snake = await track.list(null, { created_after: 1700000000, cursor: recent.cursor });
  await track.push(null, { queue: 'mail', tags: ['urgent'] });
  await track.create(60, { tags: new Set(['a', 'b']) });
  const byTag: number = await track.count(['waiting', 'running'], { tag: 'urgent' });
  const perState: Record<State, number> = await track.counts({ queue: 'mail' });
  console.log(waiting, next.length, ended.state, tagged.cursor, snake.length, byTag, perState.waiting);
}

export async function fleetExample(track: Handler): Promise<void> {
  const names: string[] = await track.queues();
  const stats: QueueStats = await track.queueStats('mail');
  await track.pause('mail');
  await track.resume('mail');
  const all: WorkerInfo[] = await track.workers();
  const serving = await track.workers('mail');
  const jobs: (Resource | null)[] = await track.getMany(['a', 'b']);
  const live: number = await track.count(['waiting', 'running']);
  const failed: number = await track.sweep();
  const retried: number = await track.retryAll('failed', { queue: 'mail', limit: 10 });
  const cleaned: number = await track.clean('finished', { olderThan: 3600 });
  const made: Resource[] = await track.createMany(10, 60, { data: { n: 1 }, name: 'bulk', batch: 5 });
  const steps: HistoryStep[] = await track.history(made[0]!.id);
  const local: HistoryStep[] = made[0]!.history();
  console.log(steps[0]?.to, steps[0]?.at, local.length);
  console.log(names, stats.oldest_wait_s, stats.paused, all[0]?.last_seen, serving.length, jobs, live, failed, retried, cleaned);
}

export async function groupExample(track: Handler): Promise<void> {
  const group: Group = await track.createGroup(60, {
    name: 'export',
    data: { user: 42 },
    then: { queue: 'reports', data: { to: 'a@b.c' }, name: 'summary' },
  });
  await track.push({ page: 1 }, { queue: 'pages', timeout: 30, group: group.id });
  await track.create(30, { data: 'x', group: group.id });
  await track.createMany(3, 30, { group: group.id });
  const counts: GroupCounts = await group.counts();
  const progress: GroupProgress = await group.progress();
  const closed: boolean = (await group.close()).closed;
  const page = await group.children({ state: 'failed', limit: 10 });
  const next = await group.children('failed', { cursor: page.cursor });
  const retried: number = await group.retryFailed({ delay: 5 });
  await group.cancel('enough');
  const again: Group = await track.group(group.id);
  const value = again.getValue();
  const info = value.group;
  const parent: string | undefined = value.group_id;
  const made = await track.createGroup(60, { children: [{ data: 1, queue: 'pages', retries: 2 }, { data: 2, name: 'b' }] });
  const read = await track.get(made.id);
  if (read instanceof Group) console.log(await read.counts());
  try {
    await track.create(30, { group: 'nope' });
  } catch (err) {
    if (err instanceof GroupNotFound || err instanceof GroupClosed) console.log(err.jobId);
  }
  console.log(counts.waiting, progress.current, closed, next.length, retried, info?.then?.id, parent, group.state);
}
