// The ES module face of the package: the same objects as index.cjs.
import cjs from './index.cjs';

export const {
  Handler,
  Resource,
  Group,
  ResourceFactory,
  STATES,
  Tracker,
  Job,
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
  InvalidJobId,
  InvalidData,
  RedisUnavailable,
  RedisCommandError,
} = cjs;
export default cjs;
