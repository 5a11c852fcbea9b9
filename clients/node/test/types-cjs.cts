// Compiled (not run) by `npm run typecheck`: the types a CommonJS user sees.
import jobbertrack = require('jobbertrack');

export async function example(client: jobbertrack.RedisLike): Promise<string | null> {
  const track = new jobbertrack.Handler(client);
  const job = await track.create(5);
  await job.move('start', { lease: 30 });
  try {
    await job.finish('x');
  } catch (err) {
    if (err instanceof jobbertrack.InvalidTransition) return err.current;
  }
  return job.state;
}

export async function groups(track: jobbertrack.Handler): Promise<number> {
  const group: jobbertrack.Group = await track.createGroup(60, { children: [{ data: 1 }] });
  const progress: jobbertrack.GroupProgress = await group.progress();
  return progress.total + (await group.counts()).finished;
}
