'use strict';
// events({since, block}) as an async iterator (_follow.py and _watch.py in
// Python): XRANGE pages of the shards that need reading, merged; at the
// end, block on every shard's stream at once (StreamTail) up to `block`.
const { translate, JobberTrackError } = require('./errors.cjs');
const { EventReader, parseStreamId, encodeCursor, NOW } = require('./events.cjs');
const { StreamTail, lastStreamId } = require('./blocking.cjs');
const { blockDeadline, chunkMs, monotonic } = require('./deadlines.cjs');
const { checkLayout } = require('./run.cjs');

const PAGE = 500;
const text = (v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

function fieldsOf(message) {
  return Object.fromEntries(Object.entries(message || {}).map(([k, v]) => [text(k), text(v)]));
}

async function xrange(client, [key, start, end, count]) {
  const entries = await client.xRange(key, start, end, { COUNT: count });
  return entries.map((e) => [text(e.id), fieldsOf(e.message)]);
}

/** The namespace's events from `since` (null: the oldest retained; an
 * event's id or cursor; '$': only new ones): `block` null stops at the end,
 * S waits up to S seconds for each next event, 0 for ever.  Checks its
 * arguments before it is iterated. */
function iterEvents(client, keys, since, block) {
  if (since !== undefined && since !== null && since !== NOW) new EventReader(keys, since); // refuses a bad since now
  blockDeadline(block, monotonic()); // and a bad block
  return follow(client, keys, since, block);
}

async function* follow(client, keys, since, block) {
  await checkLayout(client, keys, false);
  const tail = new StreamTail(client, PAGE);
  try {
    if (since === NOW) {
      const newest = [];
      for (let s = 0; s < keys.shards; s++) newest.push(lastStreamId(client, keys.eventsKey(s)));
      since = encodeCursor((await Promise.all(newest)).map(parseStreamId));
    }
    const reader = new EventReader(keys, since, PAGE);
    let deadline = blockDeadline(block, monotonic());
    for (;;) {
      const shards = reader.toFetch();
      if (shards.length) {
        const replies = await Promise.all(shards.map((s) => xrange(client, reader.rangeArgs(s))));
        shards.forEach((s, i) => reader.feed(s, replies[i], replies[i].length < reader.page));
        continue;
      }
      const event = reader.pop();
      if (event !== null) {
        yield event;
        deadline = blockDeadline(block, monotonic());
        continue;
      }
      if (deadline === null || monotonic() >= deadline) return;
      reader.feedXread(await tail.read(reader.xreadStreams(), chunkMs(deadline, monotonic())));
    }
  } catch (err) {
    throw err instanceof JobberTrackError ? err : translate(err);
  } finally {
    tail.close();
  }
}

module.exports = { iterEvents };
