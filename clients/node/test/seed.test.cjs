// jobbertrack/seed, tested as the seed tested itself: callbacks, one step
// inside the other.  Run by tests/node/test_seed.py against real Redis:
// `JOBBERTRACK_TEST_REDIS='<config JSON>' node --test test/seed.test.cjs`
// (the driver's config: {"url": ...} or {"cluster": [url, ...]}).
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const { createClient, createCluster } = require('redis');
const JobberTrack = require('jobbertrack/seed');

const config = JSON.parse(process.env.JOBBERTRACK_TEST_REDIS || '{"url": "redis://127.0.0.1:6379"}');

describe('JobberTrack (jobbertrack/seed)', function () {
  let client;
  let track;

  before(async function () {
    client = config.cluster
      ? createCluster({ rootNodes: config.cluster.map((url) => ({ url })) })
      : createClient({ url: config.url });
    client.on('error', () => {});
    await client.connect();
    track = new JobberTrack.Handler(client);
  });

  after(async function () {
    await client.quit();
  });

  describe('Handler', function () {
    it('refuses to create a job without a timeout', function (t, done) {
      new JobberTrack.Handler(client).create(function (err, job) {
        assert.ok(err instanceof JobberTrack.InvalidTimeout);
        assert.strictEqual(job, undefined);
        done();
      });
    });

    it('reads back its default timeout', function () {
      const other = new JobberTrack.Handler(client);
      assert.strictEqual(other.timeout, null);
      other.setDefaultTimeout(30);
      assert.strictEqual(other.timeout, 30);
    });

    it('creates a waiting job with a numeric id', function (t, done) {
      track.create(12, function (err, job) {
        assert.ifError(err);
        assert.strictEqual(job.state, 'waiting');
        assert.strictEqual(typeof job.id, 'number');
        assert.deepStrictEqual(job.getValue(), { state: 'waiting', data: {}, result: {} });
        track.create(12, function (err2, next) {
          assert.ifError(err2);
          assert.ok(next.id > job.id);
          done();
        });
      });
    });

    it('creates a job with data and the default timeout', function (t, done) {
      track.setDefaultTimeout(60);
      track.create({ file: 'a.csv' }, function (err, job) {
        assert.ifError(err);
        assert.deepStrictEqual(job.getValue(), { state: 'waiting', data: { file: 'a.csv' }, result: {} });
        track.create(5, [1, 2], function (err2, other) {
          assert.ifError(err2);
          assert.deepStrictEqual(other.getValue().data, [1, 2]);
          done();
        });
      });
    });

    it('gets a job by id, and null for an unknown id', function (t, done) {
      track.create(12, { n: 1 }, function (err, job) {
        assert.ifError(err);
        track.get(job.id, function (err2, same) {
          assert.ifError(err2);
          assert.strictEqual(same.id, job.id);
          assert.deepStrictEqual(same.getValue(), job.getValue());
          track.get('no-such-job', function (err3, none) {
            assert.ifError(err3);
            assert.strictEqual(none, null);
            done();
          });
        });
      });
    });
  });

  describe('Resource', function () {
    it('starts and finishes, storing the data', function (t, done) {
      track.create(12, function (err, job) {
        assert.ifError(err);
        job.start(function (err2) {
          assert.ifError(err2);
          assert.strictEqual(job.state, 'running');
          job.finish('some data to store', function (err3) {
            assert.ifError(err3);
            assert.strictEqual(job.state, 'finished');
            assert.deepStrictEqual(job.getValue(), { state: 'finished', data: {}, result: 'some data to store' });
            track.get(job.id, function (err4, same) {
              assert.ifError(err4);
              assert.strictEqual(same.state, 'finished');
              assert.strictEqual(same.data, 'some data to store');
              done();
            });
          });
        });
      });
    });

    it('fails, with or without data', function (t, done) {
      track.create(12, { n: 2 }, function (err, job) {
        assert.ifError(err);
        job.start(function () {
          job.fail({ why: 'disk full' }, function (err2) {
            assert.ifError(err2);
            assert.deepStrictEqual(job.getValue(), { state: 'failed', data: { n: 2 }, result: { why: 'disk full' } });
            track.create(12, function (err3, other) {
              other.start(function () {
                other.fail(function (err4) {
                  assert.ifError(err4);
                  assert.deepStrictEqual(other.getValue(), { state: 'failed', data: {}, result: {} });
                  done();
                });
              });
            });
          });
        });
      });
    });

    it('refuses illegal moves and shows the state Redis holds', function (t, done) {
      track.create(12, function (err, job) {
        job.finish('too early', function (err2) {
          assert.ok(err2 instanceof JobberTrack.InvalidTransition);
          assert.strictEqual(err2.current, 'waiting');
          assert.strictEqual(job.state, 'waiting');
          job.start(function () {
            job.finish(function () {
              job.start(function (err3) {
                assert.ok(err3 instanceof JobberTrack.InvalidTransition);
                assert.strictEqual(job.state, 'finished');
                job.fail(function (err4) {
                  assert.ok(err4 instanceof JobberTrack.InvalidTransition);
                  assert.strictEqual(job.state, 'finished');
                  done();
                });
              });
            });
          });
        });
      });
    });

    it('a stale copy is refused and then shows what Redis holds', function (t, done) {
      track.create(12, function (err, job) {
        track.get(job.id, function (err2, copy) {
          job.start(function () {
            copy.start(function (err3) {
              assert.ok(err3 instanceof JobberTrack.InvalidTransition);
              assert.strictEqual(copy.state, 'running');
              done();
            });
          });
        });
      });
    });

    it('setValue takes back what getValue returned', function () {
      const job = new JobberTrack.Resource(client, 7);
      job.setValue({ state: 'finished', data: { n: 1 }, result: 'ok' });
      assert.deepStrictEqual(job.getValue(), { state: 'finished', data: { n: 1 }, result: 'ok' });
      assert.strictEqual(job.state, 'finished');
    });
  });

  describe('promises', function () {
    it('every call returns a promise without a callback', async function () {
      const job = await track.create(12, { n: 3 });
      await job.start();
      await job.finish({ rows: 3 });
      const same = await track.get(job.id);
      assert.deepStrictEqual(same.getValue(), { state: 'finished', data: { n: 3 }, result: { rows: 3 } });
      await assert.rejects(job.start(), JobberTrack.InvalidTransition);
    });
  });

  describe('ResourceFactory', function () {
    it('chooses the ids', function (t, done) {
      class Named extends JobberTrack.ResourceFactory {
        create(c) {
          return new JobberTrack.Resource(c, `order-${Date.now()}-${Math.random()}`);
        }
      }
      const named = new JobberTrack.Handler(client, new Named());
      named.create(12, function (err, job) {
        assert.ifError(err);
        assert.match(job.id, /^order-/);
        named.get(job.id, function (err2, same) {
          assert.ifError(err2);
          assert.strictEqual(same.state, 'waiting');
          done();
        });
      });
    });
  });

  describe('queue', function () {
    it('createAndPush, then popAndStart takes the job, started', function (t, done) {
      track.createAndPush({ task: 'resize' }, function (err, id) {
        assert.ifError(err);
        assert.strictEqual(typeof id, 'number');
        track.popAndStart(function (err2, job) {
          assert.ifError(err2);
          assert.strictEqual(job.id, id);
          assert.strictEqual(job.state, 'running');
          assert.deepStrictEqual(job.getValue().data, { task: 'resize' });
          job.finish('resized', function (err3) {
            assert.ifError(err3);
            done();
          });
        });
      });
    });

    it('popAndStart waits until a job arrives', function (t, done) {
      const started = Date.now();
      track.popAndStart(function (err, job) {
        assert.ifError(err);
        assert.ok(Date.now() - started >= 150);
        assert.deepStrictEqual(job.getValue().data, 'later');
        done();
      });
      setTimeout(() => track.createAndPush('later'), 200);
    });
  });
});
