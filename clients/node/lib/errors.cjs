'use strict';
// Every error jobbertrack rejects with, rooted at JobberTrackError: the
// same classes, with the same meanings, as the Python package's
// (src/jobbertrack/_exceptions.py).  A refused call has written nothing.

class JobberTrackError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

const q = (s) => `'${s}'`;

/** The job's state in Redis does not allow the requested move (or, with
 * `action`, what was tried: a progress report or a heartbeat). */
class InvalidTransition extends JobberTrackError {
  constructor(jobId, current, target, action, message) {
    super(
      message ||
        (action
          ? `cannot ${action}: job ${q(jobId)} is ${q(current)} (only a ${target} job can)`
          : `job ${q(jobId)} cannot move to ${q(target)}: it is ${q(current)}`),
    );
    this.jobId = jobId;
    this.current = String(current); // the state found
    this.target = String(target); // the state wanted
    this.action = action ?? null; // what was tried, when not a move
  }
}

/** The job was cancelled (`current === 'cancelled'`): its worker's
 * heartbeat, progress report, finish or fail is refused, writing nothing.
 * A worker stops its work when it sees this. */
class JobCancelled extends InvalidTransition {
  constructor(jobId, target, action) {
    super(jobId, 'cancelled', target, action, `job ${q(jobId)} was cancelled`);
  }
}

/** No record exists under this id (never created, or gone). */
class JobNotFound extends JobberTrackError {
  constructor(jobId, message) {
    super(message || `job ${q(jobId)} not found`);
    this.jobId = jobId;
  }
}

/** The job existed, but its record outlived its timeout and is gone. */
class JobExpired extends JobNotFound {
  constructor(jobId) {
    super(jobId, `job ${q(jobId)} has expired (its record outlived its timeout)`);
  }
}

/** No group has this id: never made, gone, or a job that is not a group
 * (a child joins a group by its id; a group lives in its children's shard).
 * A JobNotFound, as in Python. */
class GroupNotFound extends JobNotFound {
  constructor(jobId) {
    super(jobId, `no group ${q(jobId)}: it was never made, has expired, or is not a group`);
  }
}

/** The group was closed (close(), or made with its children): no child
 * may join it; nothing was written. */
class GroupClosed extends JobberTrackError {
  constructor(jobId) {
    super(`group ${q(jobId)} is closed: no child may join it`);
    this.jobId = jobId;
  }
}

/** create() was given an id that already has a record; nothing changed. */
class JobExists extends JobberTrackError {
  constructor(jobId) {
    super(`job ${q(jobId)} already exists; it was left as it is`);
    this.jobId = jobId;
  }
}

/** The job's record holds a malformed field; the move was refused. */
class CorruptRecord extends JobberTrackError {
  constructor(jobId, field) {
    super(`job ${q(jobId)} has a malformed record: its ${q(field)} field is not valid`);
    this.jobId = jobId;
    this.field = String(field);
  }
}

/** The namespace holds data in a layout this version does not know. */
class UnknownLayout extends JobberTrackError {
  constructor(namespace, found, known) {
    super(
      `namespace ${q(namespace)} holds jobbertrack data of layout ${q(found)}, which this version ` +
        `does not know (it knows ${known.map(q).join(', ')}): upgrade jobbertrack`,
    );
    this.namespace = namespace;
    this.found = found;
  }
}

/** wait() gave up before the job ended. */
class WaitTimeout extends JobberTrackError {
  constructor(jobId, timeout) {
    super(`job ${q(jobId)} did not end within ${timeout} s`);
    this.jobId = jobId;
    this.timeout = timeout;
  }
}

/** An argument of the wrong type (WrongType in Python, which does not
 * export it either: catch JobberTrackError). */
class WrongType extends JobberTrackError {}

class InvalidTimeout extends JobberTrackError {}
class InvalidJobId extends JobberTrackError {}
class InvalidData extends JobberTrackError {}
class RedisUnavailable extends JobberTrackError {}
class RedisCommandError extends JobberTrackError {}

/** The one mapping from a script's reply status to the error it means
 * (as error_for in src/jobbertrack/_core/calls.py). */
function errorFor(status, jobId, { target = '?', current = '?', known = false, field = '?', action } = {}) {
  if (status === 'corrupt') return new CorruptRecord(jobId, field);
  if (status === 'bad') {
    // the job's worker, finding out it was cancelled (any refused call but a cancel)
    if (current === 'cancelled' && target !== 'cancelled') return new JobCancelled(jobId, target, action || undefined);
    return new InvalidTransition(jobId, current, target, action || undefined);
  }
  if (status === 'expired') return new JobExpired(jobId);
  if (status === 'gone' || status === 'unknown') return known ? new JobExpired(jobId) : new JobNotFound(jobId);
  if (status === 'deleted') return new JobNotFound(jobId, `job ${q(jobId)} was deleted`); // a tombstone of delete.lua
  if (status === 'exists') return new JobExists(jobId);
  // {'nogroup', id}: no group of the id a create named (or read as one);
  // {'closed', id}: it takes no more children.  `field`: the group's id.
  if (status === 'nogroup') return new GroupNotFound(field !== '?' ? field : jobId);
  if (status === 'closed') return new GroupClosed(field !== '?' ? field : jobId);
  return new JobberTrackError(`unexpected reply from Redis: ${q(status)}`);
}

/** The jobbertrack error for what the Redis client threw. */
function translate(err) {
  if (err instanceof JobberTrackError) return err;
  const kind = err && err.constructor ? err.constructor.name : '';
  if (/ErrorReply|SimpleError|BlobError/.test(kind) || (err && err.name === 'ReplyError')) {
    const e = new RedisCommandError(`Redis refused the command: ${err.message}`);
    e.cause = err;
    return e;
  }
  const e = new RedisUnavailable(`Redis is unavailable: ${err && err.message}`);
  e.cause = err;
  return e;
}

module.exports = {
  JobberTrackError,
  InvalidTransition,
  JobCancelled,
  JobNotFound,
  JobExpired,
  JobExists,
  GroupNotFound,
  GroupClosed,
  CorruptRecord,
  UnknownLayout,
  WaitTimeout,
  InvalidTimeout,
  WrongType,
  InvalidJobId,
  InvalidData,
  RedisUnavailable,
  RedisCommandError,
  errorFor,
  translate,
};
