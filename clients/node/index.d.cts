// Types of the jobbertrack Node.js client (index.cjs; index.mjs re-exports them).

/** A node-redis client (createClient() or createCluster()), connected. */
export interface RedisLike {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  get(key: string): Promise<unknown>;
  set(key: string, value: string, options?: { NX?: boolean }): Promise<unknown>;
  hGetAll(key: string): Promise<unknown>;
  /** The worker registry's reads (workers(), queues(), queueStats()). */
  sMembers?(key: string): Promise<unknown>;
  sRem?(key: string, members: string[]): Promise<unknown>;
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
  /** The idempotency key it was made with (create(..., {key})). */
  key?: string;
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
  /** A pushed job's priority (0 when none was given): a higher one pops first. */
  priority?: number;
  /** The ended attempts before the current one, oldest first (also on a
   * job not pushed once it was retried). */
  attempts?: Attempt[];
  /** A child's group (create / push / createMany with {group}). */
  group_id?: string;
  /** A group's children and follow-up job (createGroup). */
  group?: GroupInfo;
  problems?: Problem[];
  extra?: Record<string, string>;
}

/** A group's children per state (every state). */
export type GroupCounts = Record<State, number>;

/** A group's progress(): ended children out of all. */
export interface GroupProgress {
  current: number;
  total: number;
}

/** getValue().group of a group: as get_value()["group"] in Python. */
export interface GroupInfo {
  counts: GroupCounts;
  total: number;
  /** No child may join (close(), or made with its children). */
  closed: boolean;
  /** Children that expired before they ended (counted as failed). */
  expired: number;
  /** The follow-up job (createGroup({then})), null when none. */
  then: { queue: string; name: string | null; id: string | null; pushed: boolean } | null;
}

/** createGroup({then}): the job pushed once when the group ends, its data
 * {group: id, counts: {...states, total}, data}. */
export interface ThenSpec {
  queue: string;
  data?: unknown;
  name?: string | null;
}

/** createGroup({children}): one child, pushed on `queue` when given, else created. */
export interface ChildSpec {
  data?: unknown;
  name?: string | null;
  queue?: string;
  tags?: Iterable<string> | null;
  /** Seconds the child lives (the group's timeout when not given); never longer than its group. */
  timeout?: number | null;
  retries?: number;
  backoff?: number | null;
  priority?: number;
  delay?: number | null;
}

export interface CreateGroupOptions {
  name?: string | null;
  data?: unknown;
  then?: ThenSpec | null;
  /** Children made with the group, which is then closed. */
  children?: Iterable<ChildSpec> | null;
}

export interface ChildrenOptions {
  /** Only the children in this state (null: all). */
  state?: State | null;
  /** Children per page (50). */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string | null;
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
  /** Up to 16 distinct tags, each 1 to 128 printable characters: list({tag}) and count(state, {tag}) find the job by them. */
  tags?: Iterable<string> | null;
  /** An idempotency key (1 to 200 printable characters): while a job made
   * with it lives, that job is returned (existed true) and nothing is written. */
  key?: string | null;
  /** The id of an open group the job joins as a child (its id is drawn in
   * the group's shard; it lives no longer than its group). Not with `key`. */
  group?: string | null;
}

export interface PushOptions {
  /** The queue ('default'). */
  queue?: string;
  /** Seconds the record lives (else the default timeout). */
  timeout?: number | null;
  name?: string | null;
  /** As create's. */
  tags?: Iterable<string> | null;
  /** Seconds before it may be popped. */
  delay?: number | null;
  /** Attempts allowed after a failed one (0). */
  retries?: number;
  /** Seconds between a failed attempt and the job being poppable again. */
  backoff?: number | null;
  /** -999999 to 999999 (0): a higher priority pops first, push order within one. */
  priority?: number;
  /** An idempotency key, as create's (shared with create's keys). */
  key?: string | null;
  /** The group the job joins, as create's. */
  group?: string | null;
}

export interface PopOptions {
  /** null: do not wait; S: wait up to S seconds; 0: for ever. */
  block?: number | null;
  /** Seconds within which the worker must show life (60). */
  lease?: number | null;
  maxRuntime?: number | null;
}

/** A creation time a filter takes: a Date, or epoch seconds. */
export type FilterTime = Date | number;

export interface ListOptions {
  /** Jobs per page (50; at most 10000). */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string | null;
  /** Only the jobs made with this tag (an array: with every one of them). */
  tag?: string | Iterable<string> | null;
  /** Only the jobs of this queue. */
  queue?: string | null;
  /** Only the jobs whose name starts with this ('' : any). */
  name?: string | null;
  /** Only the jobs created at or after this time. */
  createdAfter?: FilterTime | null;
  /** Only the jobs created before this time. */
  createdBefore?: FilterTime | null;
  /** createdAfter as Python spells it. */
  created_after?: FilterTime | null;
  /** createdBefore as Python spells it. */
  created_before?: FilterTime | null;
  /** 'created' (the default): newest created first; 'expires': latest expiry first. */
  order?: 'created' | 'expires';
}

export interface CountOptions {
  /** Only the jobs made with this tag (an array: with every one of them). */
  tag?: string | Iterable<string> | null;
  /** Only the jobs of this queue. */
  queue?: string | null;
}

/** A page of list(): the jobs, and the next page's cursor (null at the end). */
export type JobList = Resource[] & { cursor: string | null };

export interface EventsOptions {
  /** null: the oldest retained; an event's id or cursor: after it; '$': only new ones. */
  since?: string | null;
  /** null: stop at the end; S: wait up to S seconds for each next event; 0: for ever. */
  block?: number | null;
}

/** One change of one job, as the script that made it wrote it. */
export interface JobEvent {
  /** "<shard>:<stream id>". */
  id: string;
  jobId: string;
  state: State;
  at: Date;
  progress: Progress | null;
  error: ErrorDetails | null;
  /** Resume exactly after this event: events({since: cursor}). */
  cursor: string;
  /** An ended state, not a progress report. */
  isFinal: boolean;
}

/** queueStats(): one queue's numbers, as Python's queue_stats() (snake_case keys). */
export interface QueueStats {
  name: string;
  /** Jobs ready to pop. */
  waiting: number;
  /** Jobs waiting whose ready time has not come. */
  delayed: number;
  running: number;
  /** How long the oldest ready job has waited, seconds (0 when none). */
  oldest_wait_s: number;
  paused: boolean;
  /** Live registered workers serving the queue. */
  workers: number;
}

/** workers(): a live registered worker's record, as Python's workers() returns it. */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  started_at: string;
  last_seen: string;
  /** The ids of the jobs it runs now. */
  jobs: string[];
  processed: number;
  failed: number;
}

/** One step of history(): a move of the job, oldest first. */
export interface HistoryStep {
  /** null for its creation. */
  from: State | null;
  to: State;
  /** When, ISO 8601 UTC to the ms (null when the record does not say). */
  at: string | null;
  /** The attempt it belongs to, for the steps of an earlier attempt. */
  attempt?: number | null;
  /** A failure's message and reason (an earlier attempt's, or on the last step). */
  message?: string | null;
  reason?: string | null;
  /** The last progress report, on the last step once the worker is done. */
  progress?: Progress | null;
}

export interface CreateManyOptions extends Omit<CreateOptions, 'key'> {
  /** Jobs per round of one create_many call per shard (1000). */
  batch?: number;
}

export interface RetryAllOptions {
  /** Only the jobs of this queue (null: every job). */
  queue?: string | null;
  /** The most jobs retried (1000; at most 1000000). */
  limit?: number;
}

export interface CleanOptions {
  /** Seconds since the job ended (0: any ended job). */
  olderThan: number;
  /** The most jobs deleted (1000; at most 1000000). */
  limit?: number;
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
  /** The idempotency key it was made with (create(..., {key})), or null. */
  readonly key: string | null;
  /** True for the job a keyed create or push found alive under its key
   * (nothing written); false for a job made by the call or read otherwise. */
  readonly existed: boolean;
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
  /** The job once it has ended, woken by its shard's events; WaitTimeout after `timeout` seconds (none: for ever). */
  wait(timeout?: number | null): Promise<this>;
  getValue(): JobValue;
  /** The transitions recorded in the local copy, oldest first. */
  history(): HistoryStep[];
  setValue(reply: Record<string, unknown> | unknown[] | JobValue): void;
}

/** A Resource but for `progress` (a group's is a method) and `cancel`. */
export interface GroupResource extends Omit<Resource, 'progress' | 'cancel'> {}
declare const GroupResource: new (client: RedisLike | null, id: string) => GroupResource;

/** A job that tracks a batch of children (Handler.createGroup): its state
 * follows theirs, its counts change in the same step as each child's move.
 * At run time a Resource (handler.get(id) of a group gives a Group); its own
 * start, finish and fail are refused. */
export declare class Group extends GroupResource {
  constructor(client: RedisLike | null, id: string);
  /** Whether no child may join any more (as last read). */
  readonly closed: boolean;
  /** The children per state, read now (expired ones count as failed). */
  counts(): Promise<GroupCounts>;
  /** {current: ended children, total: children}, read now. */
  progress(): Promise<GroupProgress>;
  /** No child may join from now on; the group ends once every child has. */
  close(): Promise<this>;
  /** A page of the live children, newest first; `cursor` gets the next. */
  children(options?: ChildrenOptions): Promise<JobList>;
  children(state: State | null, options?: Omit<ChildrenOptions, 'state'>): Promise<JobList>;
  /** Close the group, cancel its waiting children and ask its running ones to stop. */
  cancel(reason?: string | null): Promise<this>;
  /** Retry every failed child; how many were retried. */
  retryFailed(options?: RetryOptions): Promise<number>;
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
  /** A new group (see Group); `then` and `children` as Python's create_group. */
  createGroup(timeout?: number | null, options?: CreateGroupOptions): Promise<Group>;
  /** The group with this id, read now; GroupNotFound when the job is not a group. */
  group(id: string): Promise<Group>;
  /** The job, or null; a group comes back as a Group (test with `instanceof Group`). */
  get(id: string): Promise<Resource | null>;
  /** Live jobs per state, with `tag` and of `queue` when given. */
  counts(options?: CountOptions): Promise<Record<State, number>>;
  /** `count` new waiting jobs, one create_many call per shard per batch; JobExists when an id is taken. */
  createMany(count: number, timeout?: number | null, options?: CreateManyOptions): Promise<Resource[]>;
  /** The job's transitions, oldest first; [] when it is unknown or expired. */
  history(id: string): Promise<HistoryStep[]>;
  /** Live jobs in `state` (several: their sum; null: all states), with `tag` and of `queue` when given. */
  count(state?: State | State[] | null, options?: CountOptions): Promise<number>;
  /** The jobs for `ids`, read at once; null where there is none. */
  getMany(ids: Iterable<string>): Promise<(Resource | null)[]>;
  /** Fail the running jobs past their lease or run time, tidy expired index entries; how many it failed. */
  sweep(): Promise<number>;
  /** Retry up to `limit` jobs in `state` ('failed' by default, or 'cancelled'), of `queue` only when given; how many. */
  retryAll(state?: State, options?: RetryAllOptions): Promise<number>;
  /** Delete up to `limit` jobs in the ended `state` that ended more than `olderThan` seconds ago; how many. */
  clean(state: State, options: CleanOptions): Promise<number>;
  /** The queues of the namespace, sorted: with a waiting or running job, paused, or served by a live worker. */
  queues(): Promise<string[]>;
  /** One queue's numbers, read from each shard's queue entries (no job is read). */
  queueStats(queue: string): Promise<QueueStats>;
  /** Stop the queue's pops (pushes are still taken) until resume(). */
  pause(queue: string): Promise<void>;
  /** Let the queue's pops go on, and wake its blocked workers. */
  resume(queue: string): Promise<void>;
  /** The live registered workers (of `queue` only, when given), oldest first. */
  workers(queue?: string | null): Promise<WorkerInfo[]>;
  status(id: string): Promise<Status>;
  /** Cancel the job `id` (see Resource.cancel); the job read back after. */
  cancel(id: string, reason?: string | null): Promise<Resource>;
  /** Retry the job `id` (see Resource.retry); the job read back after. */
  retry(id: string, options?: RetryOptions): Promise<Resource>;
  /** Remove the job for good; true if it was there. status() then says 'deleted'. */
  delete(id: string): Promise<boolean>;
  /** A new waiting job on a queue, made and queued in one atomic step (`data` null: no data). */
  push(data?: unknown, options?: PushOptions): Promise<Resource>;
  /** The oldest poppable job of `queue`, started in the same atomic step, or null. */
  popAndStart(queue?: string, options?: PopOptions): Promise<Resource | null>;
  /** How many live jobs wait on `queue` (delayed ones included). */
  queued(queue?: string): Promise<number>;
  /** One page of live jobs in `state` (null: all; or several), newest created first
   * (order 'expires': latest expiry first), filtered by tag, queue, name prefix and
   * creation time; a sparse page may come back short, its cursor going on. */
  list(state?: State | State[] | null, options?: ListOptions): Promise<JobList>;
  /** The namespace's events, as an async iterator. */
  events(options?: EventsOptions): AsyncGenerator<JobEvent, void, undefined>;
  /** The job once it has ended (JobNotFound / JobExpired when there is none; WaitTimeout). */
  wait(id: string, timeout?: number | null): Promise<Resource>;
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
/** No group has this id (never made, gone, or a job that is not a group). */
export declare class GroupNotFound extends JobNotFound {}
/** The group takes no more children; nothing was written. */
export declare class GroupClosed extends JobberTrackError {
  readonly jobId: string;
}
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
/** wait() gave up before the job ended. */
export declare class WaitTimeout extends JobberTrackError {
  readonly jobId: string;
  readonly timeout: number;
}
export declare class InvalidTimeout extends JobberTrackError {}
export declare class InvalidJobId extends JobberTrackError {}
export declare class InvalidData extends JobberTrackError {}
export declare class RedisUnavailable extends JobberTrackError {}
export declare class RedisCommandError extends JobberTrackError {}
