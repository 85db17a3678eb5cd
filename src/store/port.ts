import type {
  PushSubscription,
  CallbackSpec,
  Delivery,
  DeliveryAttempt,
  Dialect,
  DeliveryState,
  Job,
  JobError,
  JobErrorCode,
  JobHistory,
  JobProgress,
  JobResponseMeta,
  JobState,
  NewJob,
  UpstreamMonitor,
} from '../model.js';
import type { JobGroup, JobGroupRecord, MessagingStore } from './messaging-port.js';

/**
 * The storage port. Every backend (SQLite, PostgreSQL) implements exactly this, and one contract suite
 * (`job-store.contract.ts`) runs unchanged against each. Code above this line asks what a store can do
 * (`listen` is optional: only a store shared across processes announces their changes), never its name.
 */

/**
 * A change another process committed. `resync` means some may have been missed (the notification channel
 * was lost and is back): re-read whatever is being watched.
 */
export type StoreChange =
  | { kind: 'job'; id: string; version: number; state: JobState }
  | { kind: 'gone'; id: string }
  | { kind: 'work' }
  | { kind: 'deliveries' }
  | { kind: 'resync' };

export interface InsertOutcome {
  job: Job;
  /** false when an existing job with the same owner + Idempotency-Key was returned instead. */
  created: boolean;
}

/** Start a job's first attempt in the commit that accepts it (a process with a free slot runs it at once,
 * instead of committing it queued and then committing its claim). */
export interface JobLease {
  owner: string;
  now: number;
  leaseMs: number;
}

/** Take a finished job's callbacks in the commit that finishes it: at most `hosts[host]` of its waiting
 * deliveries to each host (the slots the caller has free there), leased to `owner`. The rest become due. */
export interface DeliveryLease {
  owner: string;
  leaseMs: number;
  hosts: Readonly<Record<string, number>>;
}

export interface Completion {
  state: Extract<JobState, 'succeeded' | 'failed'>;
  response: JobResponseMeta | null;
  /** Body of the response when small enough to keep in one piece (written in the same transaction). */
  body?: Uint8Array;
  error: JobError | null;
  finishedAt: number;
  leaseDeliveries?: DeliveryLease;
  /** The job as the caller holds it. A store may take the fields a job never changes after insert (its
   * request, options, owner…) from it instead of reading them back; the result is the same job. */
  job?: Job;
}

export interface CompletedJob {
  job: Job;
  /** The deliveries leased by `Completion.leaseDeliveries` (empty without it). */
  deliveries: Delivery[];
  /** Deliveries of the job were made due (not leased) by this completion: the claim loop has work. A
   * backend that cannot tell says true. */
  due: boolean;
}

export interface RescueOutcome {
  requeued: string[];
  failed: string[];
  /** Deliveries whose attempt's lease lapsed, made due again (same webhook-id: at-least-once). */
  deliveries?: number;
}

/** Why an attempt was put back in the queue, for the job's history: a job error code, and the upstream's
 * status when it answered (a 503 with Retry-After). */
export interface RequeueReason {
  code: JobErrorCode;
  status?: number;
}

/** What an attempt decided for its delivery. */
export type DeliveryNext = { state: 'pending'; nextAttemptAt: number } | { state: 'delivered' | 'failed' | 'gone' };

/** Which deliveries an admin list, count or bulk action is about; every field narrows. */
export interface DeliveryFilter {
  state?: DeliveryState;
  jobId?: string;
  /** The callback's host (`host[:port]`), exactly. */
  host?: string;
  /** The HTTP status of the last attempt, within these bounds (inclusive): `500` is 500–500, `5xx` 500–599. */
  status?: { min: number; max: number };
  /** updatedAt at or after / before (epoch ms). */
  since?: number;
  until?: number;
}

export interface DeliveryListQuery extends DeliveryFilter {
  limit: number;
  /** Page after this delivery (newest first: created later ones come before it). */
  after?: string;
  /** With `after`, that delivery's createdAt, when the caller knows it: the store then need not have it (a
   * sharded store pages every shard after a delivery that lives in one). */
  afterCreatedAt?: number;
}

/** Which jobs an admin list, count or bulk retry is about; every field narrows. */
export interface JobFilter {
  state?: JobState;
  /** The request method, exactly (upper case). */
  method?: string;
  /** A prefix of the request path (`/exports` matches `/exports/1?x=y`). */
  pathPrefix?: string;
  /** createdAt at or after / before (epoch ms). */
  since?: number;
  until?: number;
  /** The job's `error.code`. */
  errorCode?: string;
  /** An exact job id, an exact Idempotency-Key, a substring of the request URL (any case), or words inside
   * the request or response body: each word of the search a word of the body or the start of one (any case;
   * only bodies that are UTF-8 text, their first SEARCHABLE_BODY_BYTES; see search-text.ts). */
  search?: string;
  /** Only jobs a retry may run again (Failed or Canceled). */
  retryableOnly?: boolean;
  /** Only this owner's jobs (null: the jobs submitted without credentials). */
  owner?: string | null;
  /** Only jobs accepted through this dialect (`qstash`: the QStash-compatible API's messages). */
  dialect?: Dialect;
  /** Only jobs of this group (NewJob.group). */
  group?: string;
}

export interface JobListQuery extends JobFilter {
  limit: number;
  /** Page after this id: newest first, so the page holds jobs created before it (ids are time-ordered). */
  after?: string;
}

/** A job an operator ran again (`retryJob`): `retried` false when it was not Failed or Canceled (unchanged). */
export interface RetryOutcome {
  job: Job;
  retried: boolean;
}

/** One group commit: how long from its start until it was durable (seconds), and how many writes it held. */
export type CommitObserver = (seconds: number, writes: number) => void;

/** What `/metrics` reports about the shared store (every process's work), read cheaply. Times are epoch ms. */
export interface StoreGauges {
  jobs: { queued: number; running: number };
  /** As StoreOverview's: the runAt of the queued job due the longest, null when none waits. */
  oldestQueuedAt: number | null;
  deliveries: Record<'waiting' | 'pending' | 'delivering' | 'failed', number>;
  /** nextAttemptAt of the pending delivery due the longest, null when none is pending. */
  oldestPendingDeliveryAt: number | null;
}

/** What the console's overview shows, counted by the store. Times are epoch ms. */
export interface StoreOverview {
  jobsByState: Partial<Record<JobState, number>>;
  /** Jobs accepted (created) and finished per minute from `since` on (minute = its start, epoch ms), only
   * minutes with something in them. Each minute is split at `settleAt`: `settled` rows count what happened
   * before it, the others what happened from it on, so a caller can keep the settled part and ask next time
   * only from `settleAt` (a scan of seconds, not of the hour). */
  perMinute: Array<{ minute: number; settled: boolean; accepted: number; finished: number }>;
  /** When the queued job due the longest became due (its runAt: when it was accepted, or when its retry was
   * due), null when none waits. A read of the ready index's first entry, however long the queue. */
  oldestQueuedAt: number | null;
  deliveriesByState: Partial<Record<DeliveryState, number>>;
  /** Hosts by dead letters plus failed attempts (no 2xx) since `failingSince`, most first. */
  failingHosts: Array<{ host: string; failed: number; lastStatus: number | null }>;
}

/** What opening a store did to its schema: migrations `from` (exclusive) up to `to` applied. */
export interface MigrationOutcome {
  from: number;
  to: number;
}

export type { JobGroup, JobGroupRecord, MessagingStore, ScheduleRecord, UrlGroupRecord } from './messaging-port.js';
/** The browsers' Web Push subscriptions, each bound to the owner (credentials hash) that registered it. */
export interface PushSubscriptionStore {
  /** Keep a subscription; one the same owner made of the same endpoint before is replaced. */
  add(sub: PushSubscription): Promise<void>;
  /** The owner's subscriptions (null: the anonymous owner), oldest first. */
  of(owner: string | null): Promise<PushSubscription[]>;
  /** Forget one of the owner's subscriptions; false when the owner has none of that id. */
  delete(id: string, owner: string | null): Promise<boolean>;
}

export interface JobStore {
  /** The migrations applied when this store was opened. */
  readonly migration: MigrationOutcome;
  /** Where the data lives, for logs and messages (never credentials). */
  readonly label: string;

  /** Commit a new job and its callbacks (durably: the promise resolves after the commit is on disk). With an
   * idempotency key already used by the same owner, the existing job is returned and nothing is written.
   * Every transition of a job to a terminal state makes its waiting deliveries due in the same transaction.
   * With `lease`, a job that is created is created running: its first attempt leased to `lease.owner`. */
  insertJob(job: NewJob, lease?: JobLease): Promise<InsertOutcome>;
  getJob(id: string): Promise<Job | null>;
  /** A job's attempts (each start and end, kept by the writes that claim, start, finish, requeue, rescue,
   * release and cancel it) and its last progress reports, oldest first (see history.ts). Empty for a job
   * that is gone, or whose life began before the store kept them. */
  historyOf(id: string): Promise<JobHistory>;
  /** The owner kept with the tombstone (deleted or expired job) of this id: undefined when there is none,
   * null when the job had no owner. A tombstone from before owners were kept has the owner '', which matches
   * no caller (it answers 404 to everyone, as if it were not there). */
  tombstoneOwner(id: string, now: number): Promise<string | null | undefined>;
  countQueued(): Promise<number>;
  /** Jobs newest first (by id, which is time-ordered), narrowed by the filter, for the admin API. */
  listJobs(query: JobListQuery): Promise<Job[]>;
  /** How many jobs match, counting at most `upTo` (a dry run says "more than N" without counting them all). */
  countJobs(filter: JobFilter, upTo: number): Promise<number>;
  /** Run a Failed or Canceled job again: queued, due now, same id, request and callbacks (its deliveries back to
   * waiting, so they go out when it finishes again), result, error, progress and a followed upstream operation cleared, attempts from 0. A job
   * in any other state is returned unchanged (`retried` false); null when there is none. */
  retryJob(id: string, now: number): Promise<RetryOutcome | null>;
  /** `retryJob` for up to `limit` jobs matching the filter (only Failed or Canceled ones), newest first.
   * Returns the jobs retried. */
  retryJobs(filter: JobFilter, limit: number, now: number): Promise<Job[]>;
  /** The console's overview: jobs per minute since `since`, failing hosts since `failingSince`. */
  overview(since: number, failingSince: number, settleAt: number): Promise<StoreOverview>;
  /** The schema's migration as the database has it now (readiness: it answers, and it is the one this
   * process migrated to; `migration.to`). */
  schemaVersion(): Promise<number>;
  /** Queue and delivery gauges for /metrics, off the request path (SQLite: the reader thread). */
  gauges(): Promise<StoreGauges>;
  /** Report each group commit to `observer` (metrics): SQLite's write transactions, PostgreSQL's grouped
   * inserts and completions. One observer; a second call replaces the first. */
  observeCommits(observer: CommitObserver): void;

  /** Take up to `limit` queued jobs whose runAt has come, giving each a new lease for `owner`. */
  claimJobs(owner: string, limit: number, now: number, leaseMs: number): Promise<Job[]>;
  /** Extend the leases `owner` holds: all its deliveries', and of its jobs those in `jobIds` (the attempts
   * still running in that process). An attempt that ended, even with its completion unrecorded (the store was
   * failing), is not renewed, so its lease lapses and the job is rescued. Returns how many were renewed. */
  renewLeases(owner: string, jobIds: readonly string[], now: number, leaseMs: number): Promise<number>;
  /** Requeue (retryable, attempts left) or fail (`interrupted`) every running job whose lease has expired. */
  rescueExpiredLeases(now: number, limit: number, interrupted: JobError): Promise<RescueOutcome>;
  /** Give back the leases `owner` holds (graceful shutdown): requeue retryable ones, fail the others. */
  releaseLeases(owner: string, now: number, interrupted: JobError): Promise<RescueOutcome>;

  /** Append one piece of the result body for the attempt holding `leaseToken`. false if the lease is lost. */
  appendResultChunk(id: string, leaseToken: number, seq: number, data: Uint8Array): Promise<boolean>;
  /** Finish a job, fenced by its lease token. null when the lease is no longer current (result dropped). */
  completeJob(id: string, leaseToken: number, completion: Completion, retentionMs: number): Promise<CompletedJob | null>;
  /** Put a running job back in the queue for another attempt at `runAt`, fenced by its lease token; `why` is
   * kept in the job's history. */
  requeueJob(id: string, leaseToken: number, runAt: number, now: number, why?: RequeueReason): Promise<boolean>;
  /** Record progress of a running job (also kept in its history, the last PROGRESS_KEPT reports). */
  updateProgress(id: string, progress: JobProgress, now: number): Promise<Job | null>;
  /** Keep the upstream operation a running attempt follows in its job's options, fenced by the lease token, so that
   * a rescue requeues the job (whatever its method) and the next attempt resumes polling. false if the lease is lost. */
  setUpstreamMonitor(id: string, leaseToken: number, monitor: UpstreamMonitor): Promise<boolean>;
  /** Cancel a queued or running job. null if it was not found; the job unchanged if already terminal. */
  cancelJob(id: string, error: JobError, now: number, retentionMs: number): Promise<Job | null>;
  /** Forget a job and its result, leaving a tombstone until `tombstoneUntil`. */
  deleteJob(id: string, now: number, tombstoneUntil: number): Promise<boolean>;

  /** A per-installation secret (e.g. the owner-hash salt), created with `create()` on first use and kept. */
  secret(name: string, create: () => string): Promise<string>;
  /** The secret kept under `name`, or undefined; nothing is created (a rotation's second key, `secret show`). */
  readSecret(name: string): Promise<string | undefined>;
  /** Keep `value` under `name`, replacing what was there; null forgets it (starting and finishing a rotation). */
  writeSecret(name: string, value: string | null): Promise<void>;

  /** The stored result body of a finished job, piece by piece, without loading it whole; with `range`
   * (inclusive byte positions, inside the body) only those bytes, reading only the pieces they fall in. */
  readResult(id: string, range?: { start: number; end: number }): AsyncIterable<Uint8Array>;

  /** Keep one piece of a large request body. Pieces are written before their job is committed (so a 202
   * means the whole body is stored); pieces of a job that never is are swept after an hour. */
  appendRequestChunk(jobId: string, seq: number, data: Uint8Array, now: number): Promise<void>;
  /** The body of a job whose request was stored in pieces (`request.body` null, `request.bodySize` > 0). */
  readRequestBody(jobId: string): AsyncIterable<Uint8Array>;

  /** Purge up to `limit` expired jobs (leaving tombstones) and expired tombstones. Returns jobs purged. */
  sweep(now: number, limit: number, tombstoneMs: number): Promise<number>;

  // --- callbacks (delivery/) -------------------------------------------------------------------------

  /** Register a callback on a job after submission: waiting if the job runs, due at once if it finished.
   * null when the job does not exist. With `maxPerJob`, SQLite counts the job's callbacks in the same
   * transaction and throws CallbackLimitError past it; PostgreSQL leaves the count to the caller. */
  addCallback(jobId: string, spec: CallbackSpec, id: string, now: number, maxPerJob?: number): Promise<Delivery | null>;
  /** Take up to `limit` due deliveries, first attempts before retries, at most `perHost` in flight per host
   * counting `inflight` (host → attempts already running here). */
  claimDeliveries(
    owner: string,
    limit: number,
    now: number,
    leaseMs: number,
    perHost: number,
    inflight: Readonly<Record<string, number>>,
  ): Promise<Delivery[]>;
  /** Record an attempt and what it decided, fenced by the delivery's lease token. */
  recordAttempt(attempt: DeliveryAttempt, leaseToken: number, next: DeliveryNext): Promise<boolean>;
  getDelivery(id: string): Promise<Delivery | null>;
  /** Deliveries newest first (by createdAt), narrowed by the filter. */
  listDeliveries(query: DeliveryListQuery): Promise<Delivery[]>;
  /** How many deliveries match, counting at most `upTo`. */
  countDeliveries(filter: DeliveryFilter, upTo: number): Promise<number>;
  attemptsOf(deliveryId: string): Promise<DeliveryAttempt[]>;
  /** Make a finished delivery due again now, its retry schedule restarted. */
  redeliver(id: string, now: number): Promise<Delivery | null>;
  /** Redeliver every dead-lettered (failed) delivery that failed at or after `since` (only to `host`, at most
   * `limit` of them, the oldest first, when given). Returns how many. */
  redeliverFailedSince(since: number, now: number, options?: { host?: string; limit?: number }): Promise<number>;

  /** Web Push subscriptions (delivery/push/, docs/push.md). */
  readonly pushSubscriptions: PushSubscriptionStore;

  /** The QStash-compatible API's URL groups and schedules (docs/qstash.md). */
  readonly messaging: MessagingStore;

  /** Create or update a job group's bounds (JobGroup). */
  putGroup(group: JobGroup, now: number): Promise<void>;
  /** A group's record with its lag; null when it has none (its jobs run as `{ parallelism: 1, fifo: true }`). */
  group(key: string): Promise<JobGroupRecord | null>;
  /** The groups whose key starts with `prefix`, by key. */
  groups(prefix: string): Promise<JobGroupRecord[]>;
  /** Forget a group's record (its unfinished jobs stay, and run as a group without a record). */
  deleteGroup(key: string): Promise<boolean>;

  /** Did this failure come from a fault that passes (the database unreachable, failing over), so that the
   * same write may succeed later? Absent: only `StorageFullError` (no space left) is such a fault. */
  isTransient?(error: unknown): boolean;

  /** The shard a new job of this owner with this Idempotency-Key (null: none) goes to, stamped on its id (shared/shards.ts);
   * a `group` (NewJob.group) places it instead, with the group's other jobs. Absent: the store is not sharded. */
  shardFor?(owner: string | null, idempotencyKey: string | null, group?: string): number;

  /** This process waits on job `id` (`'*'`: on every job): have the changes other processes make to it
   * reach `listen`. Returns the function that ends it. Absent when every process hears every change anyway
   * (PostgreSQL's notifications) or none can make one. */
  watch?(id: string): () => void;

  /** Be told of changes other processes commit. Absent when no other process can change the store under
   * this one (SQLite: other processes sharing a file are found by polling). */
  listen?(fn: (change: StoreChange) => void): () => void;

  close(): Promise<void>;
}
