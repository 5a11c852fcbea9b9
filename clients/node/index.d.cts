// Types of the jobbertrack Node.js client (index.cjs; index.mjs re-exports them).

/** A node-redis client (createClient() or createCluster()), connected. */
export interface RedisLike {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  get(key: string): Promise<unknown>;
  set(key: string, value: string, options?: { NX?: boolean }): Promise<unknown>;
  hGetAll(key: string): Promise<unknown>;
}

export type State = 'waiting' | 'running' | 'failed' | 'finished' | 'cancelled';
export type Status = State | 'expired' | 'deleted' | 'unknown' | 'corrupt';
export declare const STATES: readonly State[];

export interface Progress {
  current: number;
  total: number | null;
  message: string | null;
}

export interface ErrorDetails {
  reason: 'error' | 'stalled' | 'timeout' | 'cancelled' | string;
  message: string | null;
  type?: string;
  [key: string]: unknown;
}

export interface Problem {
  field: string;
  problem: string;
}

/** What getValue() returns: the same object as get_value() in Python. */
export interface JobValue {
  id: string;
  state: State | null;
  name?: string;
  /** The seed's data: the result once there is one, else the input. */
  data?: unknown;
  /** What the job was made with; never changed by a move. */
  input: unknown;
  /** What finish() stored; null before. */
  result: unknown;
  progress: Progress | null;
  error: ErrorDetails | null;
  created_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  expires_at: string | null;
  heartbeat_at: string | null;
  lease: number | null;
  max_runtime: number | null;
  /** A job made by push (Python's push(); the queue fields of the data model). */
  queue?: string;
  /** The attempt running, or the next one while it waits (1-based); also
   * on a job not pushed once it was retried. */
  attempt?: number | null;
  retries?: number | null;
  /** Seconds before a failed attempt's job may be popped again. */
  backoff?: number | null;
  ready_at?: string | null;
  /** The ended attempts before the current one, oldest first (also on a
   * job not pushed once it was retried). */
  attempts?: Attempt[];
  problems?: Problem[];
  extra?: Record<string, string>;
}

/** One ended attempt of a job: a failed attempt of a pushed job, or one
 * retried (retry()) from where it ended. */
export interface Attempt {
  attempt: number | null;
  started_at: string | null;
  ended_at: string | null;
  error: ErrorDetails | null;
  /** Where the attempt ended, when it was retried from there ('failed' or 'cancelled'). */
  state?: State;
  /** When it was retried. */
  retried_at?: string | null;
}

export interface MoveOptions extends StartOptions, RetryOptions {
  /** Any JSON value to store with the move. */
  data?: unknown;
  /** Error details, as fail() takes them. */
  error?: unknown;
}
export interface RetryOptions {
  /** Seconds before a job of a queue may be popped again (none or 0: at once). */
  delay?: number | null;
}
export interface StartOptions {
  /** Seconds within which the worker must show life, or the job fails as stalled. */
  lease?: number | null;
  /** Seconds after which the job fails as timed out. */
  maxRuntime?: number | null;
}

export interface CreateOptions {
  data?: unknown;
  name?: string | null;
}

export interface HandlerOptions {
  namespace?: string;
  shards?: number;
  defaultTimeout?: number;
  maxDataBytes?: number;
  maxEvents?: number;
  tombstoneTtl?: number;
  maxTombstones?: number;
}

export declare class Resource {
  constructor(client: RedisLike | null, id: string);
  readonly client: RedisLike | null;
  readonly id: string;
  readonly state: State | null;
  readonly problems: Problem[];
  /** The seed's data: the result once there is one, else the input. */
  readonly data: unknown;
  /** What the job was made with (create({data})); never changed by a move. */
  readonly input: unknown;
  /** What finish(value) stored; null before. */
  readonly result: unknown;
  readonly isFinal: boolean;
  readonly progress: Progress | null;
  readonly error: ErrorDetails | null;
  readonly name: string | null;
  /** The queue the job was pushed on (Python's push()), or null. */
  readonly queue: string | null;
  /** Any move of the table Redis holds, by its name (`MOVES`): the named
   * methods call it; a move added to the table works with no change here. */
  move(name: string, options?: MoveOptions): Promise<this>;
  start(options?: StartOptions): Promise<this>;
  finish(data?: unknown): Promise<this>;
  fail(error?: unknown): Promise<this>;
  /** waiting / running -> cancelled; `error` becomes {reason: 'cancelled', message: reason || 'cancelled'}.
   * The job's worker is refused its next call with JobCancelled. */
  cancel(reason?: string | null): Promise<this>;
  /** failed / cancelled -> waiting, as a new attempt; a job of a queue goes back on it after `delay` seconds. */
  retry(options?: RetryOptions): Promise<this>;
  heartbeat(): Promise<this>;
  setProgress(current: number, total?: number | null, message?: string | null): Promise<this>;
  refresh(): Promise<this>;
  getValue(): JobValue;
  setValue(reply: Record<string, unknown> | unknown[] | JobValue): void;
}

export declare class ResourceFactory {
  create(client: RedisLike): Resource | Promise<Resource>;
  load(client: RedisLike, id: string, reply: Record<string, string>): Resource | Promise<Resource>;
}

export declare class Handler {
  constructor(client: RedisLike, resourceFactory?: ResourceFactory | null, options?: HandlerOptions);
  readonly client: RedisLike;
  readonly resourceFactory: ResourceFactory;
  readonly namespace: string;
  setDefaultTimeout(timeout: number): void;
  create(timeout?: number | null, options?: CreateOptions): Promise<Resource>;
  get(id: string): Promise<Resource | null>;
  counts(): Promise<Record<State, number>>;
  status(id: string): Promise<Status>;
  /** Cancel the job `id` (see Resource.cancel); the job read back after. */
  cancel(id: string, reason?: string | null): Promise<Resource>;
  /** Retry the job `id` (see Resource.retry); the job read back after. */
  retry(id: string, options?: RetryOptions): Promise<Resource>;
  /** Remove the job for good; true if it was there. status() then says 'deleted'. */
  delete(id: string): Promise<boolean>;
}

export { Handler as Tracker, Resource as Job };

export declare class JobberTrackError extends Error {}
export declare class InvalidTransition extends JobberTrackError {
  constructor(jobId: string, current: string, target: string, action?: string);
  readonly jobId: string;
  /** The state found. */
  readonly current: string;
  /** The state wanted. */
  readonly target: string;
  /** What was tried when it was not a move ("report progress", "renew its lease"), else null. */
  readonly action: string | null;
}
/** The job was cancelled: its worker's heartbeat, progress report, finish or fail is refused. */
export declare class JobCancelled extends InvalidTransition {
  constructor(jobId: string, target: string, action?: string);
  readonly current: 'cancelled';
}
export declare class JobNotFound extends JobberTrackError {
  readonly jobId: string;
}
export declare class JobExpired extends JobNotFound {}
export declare class JobExists extends JobberTrackError {
  readonly jobId: string;
}
export declare class CorruptRecord extends JobberTrackError {
  readonly jobId: string;
  readonly field: string;
}
export declare class UnknownLayout extends JobberTrackError {
  readonly namespace: string;
  readonly found: string;
}
export declare class InvalidTimeout extends JobberTrackError {}
export declare class InvalidJobId extends JobberTrackError {}
export declare class InvalidData extends JobberTrackError {}
export declare class RedisUnavailable extends JobberTrackError {}
export declare class RedisCommandError extends JobberTrackError {}
