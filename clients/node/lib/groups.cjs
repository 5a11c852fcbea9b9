'use strict';
// Groups (docs/data-model.md, "Groups"; the Python twins are
// src/jobbertrack/_core/groups.py and _core/group_fields.py): a job whose
// children's counts Redis keeps in the same script as each child's move.
// Pure: the fields a group's record holds, reading them, the follow-up
// job's fields, the ids of children (in their group's shard) and the cursor
// of a children page.  No I/O but the resource factory's.
const { STATES, manifest } = require('./scripts.cjs');
const { InvalidData, JobberTrackError } = require('./errors.cjs');
const { checkQueue } = require('./queue.cjs');
const { createFields } = require('./calls.cjs');

/** `kind` of a group's record. */
const GROUP_KIND = 'group';
/** A child's field naming its group. */
const GROUP = 'group';
/** Per-state child counts are the fields `n:<state>`, plus these two. */
const TOTAL = 'n:total';
const EXPIRED = 'n:expired';
/** The follow-up job made when a group ends (`then`). */
const THEN_FIELDS = Object.freeze(['then_queue', 'then_name', 'then_data', 'then_id', 'then_done']);
/** Every field a group or a child record may hold besides a job's own:
 * the manifest's list (GROUP_FIELDS in group_fields.py). */
const GROUP_FIELDS = Object.freeze([...manifest.fields.group]);
/** Keys a child spec of createGroup({children: [...]}) may have. */
const CHILD_KEYS = Object.freeze(['data', 'name', 'queue', 'tags', 'timeout', 'retries', 'backoff', 'priority', 'delay']);
/** How many ids the resource factory may make before one falls in a group's shard. */
const ID_TRIES_PER_SHARD = 64;
/** Entries of a group's children index one page reads at most (CHILDREN_BUDGET). */
const CHILDREN_BUDGET = 2000;
/** Children cancelled or retried per round (ACT_BATCH). */
const ACT_BATCH = 500;
const ENDED = Object.freeze([...manifest.ended]);

const isGroup = (fields) => fields.kind === GROUP_KIND;

/** An integer field, 0 when absent or not one (_int in groups.py). */
function int(raw) {
  if (typeof raw !== 'string' || !/^\s*[-+]?\d+\s*$/.test(raw)) return 0;
  return Number(raw);
}

/** A group's children per state (every state, 0 where none). */
function countsOf(fields) {
  return Object.fromEntries(STATES.map((s) => [s, int(fields[`n:${s}`])]));
}

/** {current: ended children, total: children}. */
function progressOf(fields) {
  const counts = countsOf(fields);
  return { current: ENDED.reduce((sum, s) => sum + counts[s], 0), total: int(fields[TOTAL]) };
}

/** What getValue() adds: a child's `group_id`; a group's `group` (counts,
 * total, closed, expired children, its follow-up job). */
function groupValue(fields) {
  const out = {};
  if (GROUP in fields) out.group_id = fields[GROUP];
  if (isGroup(fields)) {
    const then = 'then_queue' in fields
      ? { queue: fields.then_queue, name: fields.then_name ?? null, id: fields.then_id ?? null, pushed: 'then_done' in fields }
      : null;
    out.group = {
      counts: countsOf(fields),
      total: int(fields[TOTAL]),
      closed: 'closed' in fields,
      expired: int(fields[EXPIRED]),
      then,
    };
  }
  return out;
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Map);

/** The stored field pairs of then = {queue, data, name} (the follow-up
 * job's id is added by the caller); `json(value, what)` encodes its data. */
function thenFields(then, json) {
  if (then === undefined || then === null) return [];
  if (!isPlainObject(then)) {
    throw new InvalidData(`then must be an object like {queue: 'reports'}, not ${Array.isArray(then) ? 'an array' : typeof then}`);
  }
  const unknown = Object.keys(then).filter((k) => !['queue', 'data', 'name'].includes(k)).sort();
  if (unknown.length) throw new InvalidData(`then takes queue, data and name, not ${unknown.join(', ')}`);
  if (!('queue' in then) || then.queue === undefined) throw new InvalidData('then needs a queue to push the follow-up job on');
  const out = ['then_queue', checkQueue(then.queue)];
  if (then.name !== undefined && then.name !== null) out.push('then_name', createFields({ name: then.name })[1]);
  if ('data' in then && then.data !== undefined) out.push('then_data', json(then.data, 'then data'));
  return out;
}

/** The field pairs create writes on a new group. */
function groupFields(thenPairs, thenId) {
  const out = ['kind', GROUP_KIND, ...thenPairs];
  if (thenId !== null && thenId !== undefined) out.push('then_id', thenId);
  return out;
}

/** createGroup({children}): an array (or other iterable) of objects of CHILD_KEYS. */
function checkChildren(children) {
  if (typeof children === 'string' || isPlainObject(children) || typeof children?.[Symbol.iterator] !== 'function') {
    throw new InvalidData(`children must be an array of objects, not ${children === null ? 'null' : typeof children}`);
  }
  return [...children].map((child, i) => {
    if (!isPlainObject(child)) throw new InvalidData(`children[${i}] must be an object, not ${child === null ? 'null' : typeof child}`);
    const unknown = Object.keys(child).filter((k) => !CHILD_KEYS.includes(k)).sort();
    if (unknown.length) throw new InvalidData(`children[${i}] has keys it cannot take: ${unknown.join(', ')}`);
    return { ...child };
  });
}

/** A resource of `make()` (may be a promise) whose id falls in `shard` (a
 * child lives in its group's shard, so one script moves both); in_shard. */
async function inShard(make, shard, shardOf, shards) {
  for (let i = 0; i < ID_TRIES_PER_SHARD * shards; i++) {
    const made = await make();
    if (shardOf(made.id) === shard) return made;
  }
  throw new JobberTrackError(
    `the resource factory made ${ID_TRIES_PER_SHARD * shards} ids and none fell in the group's ` +
      "shard: a child's id must hash to its group's shard (docs/data-model.md, Groups)",
  );
}

/** The cursor of a children page from the last entry read of
 * `ingroup:<id>` (`<created, 15 digits> NUL <id>`): "<created>:<id>". */
function childrenCursor(member) {
  const at = member.indexOf('\0');
  return `${Number(member.slice(0, at))}:${member.slice(at + 1)}`;
}

/** The `ingroup` entry a children page continues after ('' = newest). */
function childrenAfter(cursor) {
  if (cursor === undefined || cursor === null) return '';
  if (typeof cursor === 'string') {
    const at = cursor.indexOf(':');
    const created = cursor.slice(0, at);
    const id = cursor.slice(at + 1);
    if (at > 0 && /^\d{1,15}$/.test(created) && id) return `${String(Number(created)).padStart(15, '0')}\0${id}`;
  }
  throw new InvalidData(`not a cursor of a children page: ${JSON.stringify(cursor)}`);
}

module.exports = {
  GROUP_KIND,
  GROUP,
  GROUP_FIELDS,
  CHILD_KEYS,
  CHILDREN_BUDGET,
  ACT_BATCH,
  ID_TRIES_PER_SHARD,
  isGroup,
  countsOf,
  progressOf,
  groupValue,
  thenFields,
  groupFields,
  checkChildren,
  inShard,
  childrenCursor,
  childrenAfter,
};
