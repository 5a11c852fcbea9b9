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
