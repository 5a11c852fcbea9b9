// Compiled (not run) by `npm run typecheck`: jobbertrack/seed from an ES module.
import { Handler, InvalidTransition, ResourceFactory, Resource } from 'jobbertrack/seed';
import seed from 'jobbertrack/seed';

class Named extends ResourceFactory {
  override create(client: any): Resource {
    return new Resource(client, `order-${Date.now()}`);
  }
}

export async function example(client: any): Promise<void> {
  const track = new Handler(client, new Named());
  const job = await track.create({ input: 1 });
  try {
    await job.finish();
  } catch (err) {
    if (err instanceof InvalidTransition) console.log(err.current, seed.STATES);
  }
}
