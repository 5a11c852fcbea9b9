// The ES module face of jobbertrack/seed: the same objects as seed.cjs.
import cjs from './seed.cjs';

export const {
  Handler,
  Resource,
  ResourceFactory,
  STATES,
  JobberTrackError,
  InvalidTransition,
  JobCancelled,
  JobNotFound,
  JobExpired,
  JobExists,
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
