// Types of jobbertrack/seed (seed.cjs): the original jobberTrack API,
// callbacks and promises, on jobbertrack's data model.
import type { RedisLike, HandlerOptions, State } from './index.cjs';

export type { RedisLike, HandlerOptions, State } from './index.cjs';
export {
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
} from './index.cjs';

export type Callback<T> = (err: Error | null, value: T) => void;

/** What getValue() returns: the seed's shape. */
export interface SeedValue {
  state: State | null;
  /** What the job was created with ({} when none). */
  data: unknown;
  /** What finish or fail stored ({} when none). */
  result: unknown;
}

export declare class Resource {
  constructor(client: RedisLike | null, id: number | string);
  readonly client: RedisLike | null;
  readonly id: number | string;
  readonly state: State | null;
  /** The result once there is one, else what the job was created with. */
  readonly data: unknown;
  start(callback: Callback<Resource>): void;
  start(): Promise<Resource>;
  fail(callback: Callback<Resource>): void;
  fail(data: unknown, callback: Callback<Resource>): void;
  fail(data?: unknown): Promise<Resource>;
  finish(callback: Callback<Resource>): void;
  finish(data: unknown, callback: Callback<Resource>): void;
  finish(data?: unknown): Promise<Resource>;
  heartbeat(callback: Callback<Resource>): void;
  heartbeat(): Promise<Resource>;
  refresh(callback: Callback<Resource>): void;
  refresh(): Promise<Resource>;
  getValue(): SeedValue;
  setValue(reply: SeedValue | Record<string, unknown> | unknown[]): void;
}

export declare class ResourceFactory {
  /** A new resource (not saved yet): by default a number from the namespace's counter. */
  create(client: RedisLike, namespace?: string): Resource | Promise<Resource>;
  load(client: RedisLike, id: number | string, reply: Record<string, string>): Resource | Promise<Resource>;
}

export declare class Handler {
  constructor(client: RedisLike, resourceFactory?: ResourceFactory | null, options?: HandlerOptions);
  readonly client: RedisLike;
  readonly resourceFactory: ResourceFactory;
  readonly namespace: string;
  /** The default timeout (seconds), null when none was set. */
  readonly timeout: number | null;
  /** Seconds within which a job taken by popAndStart must heartbeat (60). */
  lease: number | null;
  setDefaultTimeout(timeout: number): void;
  create(callback: Callback<Resource>): void;
  create(timeoutOrData: unknown, callback: Callback<Resource>): void;
  create(timeout: number | null | undefined, data: unknown, callback: Callback<Resource>): void;
  create(timeoutOrData?: unknown, data?: unknown): Promise<Resource>;
  get(id: number | string, callback: Callback<Resource | null>): void;
  get(id: number | string): Promise<Resource | null>;
  createAndPush(data: unknown, callback: Callback<number | string>): void;
  createAndPush(data?: unknown): Promise<number | string>;
  popAndStart(callback: Callback<Resource>): void;
  popAndStart(): Promise<Resource>;
}
