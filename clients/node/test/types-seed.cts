// Compiled (not run) by `npm run typecheck`: the seed's API, as its README shows it.
import JobberTrack = require('jobbertrack/seed');

export function example(client: JobberTrack.RedisLike): void {
  const track = new JobberTrack.Handler(client);
  track.setDefaultTimeout(60);
  track.create(12, function (err, job) {
    if (err) return;
    job.start(function () {
      job.finish('some data to store', function (err2) {
        console.log(err2, job.getValue().result);
      });
    });
  });
  track.get('job id', function (err, job) {
    if (job && job.state == 'finished') console.log(job.data);
  });
  track.createAndPush({ n: 1 }, (err, id) => console.log(err, id));
  track.popAndStart((err, job) => job.fail({ why: 'no' }, () => {}));
}

export async function promised(client: JobberTrack.RedisLike): Promise<number | string> {
  const track = new JobberTrack.Handler(client);
  const job = await track.create(12, { input: 1 });
  await job.start();
  await job.finish();
  job.setValue({ state: 'finished', data: {}, result: {} });
  return track.createAndPush('x');
}
