'use strict';
// A job record as stored in its hash (docs/data-model.md, "The job hash")
// and its JSON-able snapshot, the same as get_value() in Python
// (src/jobbertrack/_core/record.py: to_value / from_value).
const { STATES, FIELDS } = require('./scripts.cjs');
const { InvalidData } = require('./errors.cjs');
const { encodeJson } = require('./calls.cjs');
const { GROUP_FIELDS, groupValue } = require('./groups.cjs');

// The fields by kind, from the scripts' manifest (fields.py in Python).
const TIMES = FIELDS.times; // stored name -> get_value() name
const DURATIONS = FIELDS.durations;
const OBJECTS = FIELDS.objects;
const CREATE = Object.keys(FIELDS.create); // set at create, stored as given text (name), or as JSON (tags)
const isTags = (key) => FIELDS.create[key].kind === 'tags';
/** The tags of a stored `tags` field ([] when it is not a list of strings; read_tags in Python). */
function readTags(raw) {
  try {
    const value = JSON.parse(raw);
    return Array.isArray(value) ? value.filter((t) => typeof t === 'string') : [];
  } catch {
    return [];
  }
}
/** The fields of a job made by push (QUEUE_FIELDS in _core/attempts.py). */
const QUEUE_FIELDS = FIELDS.queue;
/** The idempotency key a keyed create stored (lib/idem.cjs; KEY in
 * fields.py): text, read as it is; absent for a job made without one. */
const KEY = 'key';
const KNOWN = new Set([
  'state', 'token', KEY, 'data', 'result', ...OBJECTS, ...CREATE, ...Object.keys(TIMES), ...Object.keys(DURATIONS), ...QUEUE_FIELDS,
  ...GROUP_FIELDS, // a group's counts and follow-up job, a child's group (lib/groups.cjs)
]);
const STORED_ONLY = new Set(FIELDS.stored_only);
// The payloads (any JSON): the input a create stores and the result finish
// stores; a record written before results had their own field holds a
// finished job's result in the input's field (payload_fields in Python).
const { input: INPUT, result: RESULT, result_in_data_when: LEGACY_RESULT_STATE } = FIELDS.payloads;

/** [the field holding the input, the field holding the result], null where none. */
function payloadFields(fields) {
  if (RESULT in fields) return [INPUT in fields ? INPUT : null, RESULT];
  if (fields.state === LEGACY_RESULT_STATE && INPUT in fields) return [null, INPUT];
  return [INPUT in fields ? INPUT : null, null];
}
const MAX_MS = 253402300799999; // the end of year 9999

/** Fields from a flat [field, value, ...] reply (strings, numbers or Buffers). */
function fieldsFromFlat(flat) {
  const out = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

function readMs(raw) {
  if (raw === undefined || raw === null || !/^-?\d{1,20}$/.test(raw)) return null;
  const ms = Number(raw);
  return ms >= 0 && ms <= MAX_MS ? ms : null;
}

function readJson(raw) {
  if (raw === undefined || raw === null) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNumber = (v) => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 1e300;

/** What is wrong with one known field's stored text (a subset of
 * record.problems in Python: the rules the scripts and readers rely on). */
function problemOf(field, raw) {
  if (field === 'state') return STATES.includes(raw) ? null : `not a state: '${raw.slice(0, 40)}'`;
  if (field === 'token') return raw ? null : 'empty';
  if (field in TIMES) return readMs(raw) !== null ? null : `not a time in ms: '${raw.slice(0, 40)}'`;
  if (field in DURATIONS) return readMs(raw) ? null : `not a duration in ms > 0: '${raw.slice(0, 40)}'`;
  if (field === 'data' || field === 'result' || OBJECTS.includes(field)) {
    const value = readJson(raw);
    if (value === undefined) return `stored value is not JSON: '${raw.slice(0, 80)}'`;
    if (field === 'error' && !isObject(value)) return 'not a JSON object';
    if (field === 'progress') {
      if (!isObject(value)) return 'not a JSON object';
      if (!isNumber(value.current) || !(value.total === null || value.total === undefined || isNumber(value.total))) {
        return 'current and total must be numbers';
      }
      if (!(value.message === null || value.message === undefined || typeof value.message === 'string')) {
        return 'message must be text';
      }
    }
  }
  return null;
}

function problems(fields) {
  const out = 'state' in fields ? [] : [{ field: 'state', problem: 'missing' }];
  for (const [field, raw] of Object.entries(fields)) {
    const said = KNOWN.has(field) ? problemOf(field, raw) : null;
    if (said !== null) out.push({ field, problem: said });
  }
  return out;
}

function isoOf(ms) {
  return ms === null ? null : new Date(ms).toISOString().replace('Z', '+00:00');
}

/** An integer of at most 15 digits, else null (_int in attempts.py). */
function readInt(raw) {
  return typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : null;
}

function isoOfInt(ms) {
  return Number.isInteger(ms) && ms >= 0 && ms <= MAX_MS ? isoOf(ms) : null;
}

/** The attempts before the current one, oldest first; one retried from
 * where it ended (retry()) also says that state and when it was retried
 * (earlier_attempts in attempts.py). */
function earlierAttempts(fields) {
  const stored = readJson(fields.attempts);
  return (Array.isArray(stored) ? stored : []).filter(isObject).map((item) => {
    const one = {
      attempt: item.attempt ?? null,
      started_at: isoOfInt(item.started),
      ended_at: isoOfInt(item.ended),
      error: isObject(item.error) ? item.error : null,
    };
    if (typeof item.state === 'string') {
      one.state = item.state;
      one.retried_at = isoOfInt(item.retried);
    }
    return one;
  });
}

/** The queue part of getValue(): {} for a job that was not pushed, only
 * its attempts once one was retried (queue_value in attempts.py). */
function queueValue(fields) {
  if (!('queue' in fields)) {
    return 'attempts' in fields ? { attempt: readInt(fields.attempt), attempts: earlierAttempts(fields) } : {};
  }
  const backoff = readInt(fields.backoff);
  const ready = readInt(fields.ready);
  const attempts = earlierAttempts(fields);
  return {
    queue: fields.queue,
    attempt: readInt(fields.attempt),
    retries: readInt(fields.retries),
    backoff: backoff === null ? null : backoff / 1000,
    ready_at: ready === null ? null : isoOfInt(ready),
    priority: readPriority(fields.priority),
    attempts,
  };
}

/** A pushed job's priority: 0 when the record has none (or not one push writes). */
function readPriority(raw) {
  if (typeof raw !== 'string' || !/^-?\d{1,6}$/.test(raw)) return 0;
  return Number(raw);
}

/** The stored queue fields from what queueValue() shows, so that
 * setValue(getValue()) keeps them (queue_fields in attempts.py). */
function queueFields(value) {
  const out = {};
  if (value.queue !== undefined && value.queue !== null) out.queue = String(value.queue);
  else if (!Array.isArray(value.attempts) || !value.attempts.length) return {};
  for (const name of ['attempt', 'retries']) if (Number.isInteger(value[name])) out[name] = String(value[name]);
  if (isNumber(value.backoff)) out.backoff = String(Math.round(value.backoff * 1000));
  const msOrNull = (v) => (typeof v === 'string' && Number.isFinite(Date.parse(v)) ? Date.parse(v) : null);
  if (msOrNull(value.ready_at) !== null) out.ready = String(msOrNull(value.ready_at));
  if (Number.isInteger(value.priority) && value.priority !== 0) out.priority = String(value.priority);
  if (Array.isArray(value.attempts) && value.attempts.length) {
    const stored = value.attempts.filter(isObject).map((a) => ({
      attempt: a.attempt ?? null,
      started: msOrNull(a.started_at),
      ended: msOrNull(a.ended_at),
      error: a.error ?? null,
      ...(typeof a.state === 'string' ? { state: a.state, retried: msOrNull(a.retried_at) } : {}),
    }));
    out.attempts = JSON.stringify(stored);
  }
  return out;
}

/** The snapshot getValue() returns: the same object as get_value() in Python. */
function toValue(id, fields) {
  const found = problems(fields);
  const bad = new Set(found.map((p) => p.field));
  const good = (k) => (bad.has(k) ? undefined : fields[k]);
  const out = { id, state: found.length ? null : fields.state };
  for (const key of CREATE) if (good(key) !== undefined) out[key] = isTags(key) ? readTags(fields[key]) : fields[key];
  if (out.tags === undefined) out.tags = []; // a job made without tags has none
  if (good(KEY) !== undefined) out[KEY] = fields[KEY]; // a keyed create's key
  const [given, result] = payloadFields(fields);
  const read = (k) => (k === null || good(k) === undefined ? null : JSON.parse(fields[k]));
  if (given !== null || result !== null) out.data = read(result ?? given); // the seed's data
  out.input = read(given);
  out.result = read(result);
  for (const key of OBJECTS) {
    const value = readJson(good(key));
    out[key] = isObject(value) ? value : null;
  }
  for (const [raw, name] of Object.entries(TIMES)) out[name] = isoOf(readMs(good(raw)));
  for (const [raw, name] of Object.entries(DURATIONS)) {
    const ms = readMs(good(raw));
    out[name] = ms ? ms / 1000 : null;
  }
  Object.assign(out, queueValue(fields)); // a pushed job's queue and attempts
  Object.assign(out, groupValue(fields)); // a child's group_id; a group's counts
  if (found.length) out.problems = found;
  const extra = Object.fromEntries(Object.entries(fields).filter(([k]) => !KNOWN.has(k)));
  if (Object.keys(extra).length) out.extra = extra;
  return out;
}

function msOf(value) {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidData(`not a time: ${String(value)}`);
  return String(Math.round(ms));
}

/** Fields from what Redis returned (an HGETALL object or a flat list) or
 * from what getValue() returned (from_value in Python). */
function fromValue(value) {
  if (Array.isArray(value)) return fieldsFromFlat(value);
  if (!value || typeof value !== 'object') throw new InvalidData('setValue() needs an object or a flat list of fields');
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  const items = Object.fromEntries(entries.map(([k, v]) => [String(k), v]));
  if (Object.keys(items).some((k) => STORED_ONLY.has(k)) || entries.some(([, v]) => Buffer.isBuffer(v))) {
    return Object.fromEntries(Object.entries(items).map(([k, v]) => [k, String(v)]));
  }
  const fields = {};
  if (items.state !== undefined && items.state !== null) {
    if (!STATES.includes(items.state)) throw new InvalidData(`not a state: ${String(items.state)}`);
    fields.state = items.state;
  }
  if (isObject(items.extra)) {
    for (const [k, v] of Object.entries(items.extra)) if (!KNOWN.has(k)) fields[k] = String(v);
  }
  for (const key of [...CREATE, KEY]) {
    if (items[key] === undefined || items[key] === null) continue;
    fields[key] = Array.isArray(items[key]) ? JSON.stringify(items[key]) : String(items[key]);
  }
  if (fields.tags === '[]') delete fields.tags;
  if ('input' in items || 'result' in items) { // this version's value: the two payloads
    if (items.input !== undefined && items.input !== null) fields[INPUT] = encodeJson(items.input);
    const finished = fields.state === LEGACY_RESULT_STATE; // a finish stores a result, null too
    if ((items.result !== undefined && items.result !== null) || ('result' in items && finished)) {
      fields[RESULT] = encodeJson(items.result ?? null, 'result');
    }
  } else if ('data' in items) fields.data = encodeJson(items.data);
  for (const key of OBJECTS) if (items[key] !== undefined && items[key] !== null) fields[key] = encodeJson(items[key], key);
  for (const [raw, name] of Object.entries(TIMES)) if (items[name] !== undefined && items[name] !== null) fields[raw] = msOf(items[name]);
  for (const [raw, name] of Object.entries(DURATIONS)) {
    if (items[name] !== undefined && items[name] !== null) fields[raw] = String(Math.round(Number(items[name]) * 1000));
  }
  return Object.assign(fields, queueFields(items));
}

module.exports = {
  fieldsFromFlat,
  toValue,
  fromValue,
  problems,
  readJson,
  readMs,
  isoOf,
  earlierAttempts,
  payloadFields,
  PAYLOAD_FIELDS: [INPUT, RESULT],
  KNOWN,
};
