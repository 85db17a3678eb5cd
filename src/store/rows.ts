import type { CallbackSpec, Delivery, DeliveryAttempt, Dialect, Job, JobState, NewJob, PushSubscription } from '../model.js';
import type { JobGroup, JobGroupRecord, JobLease } from './port.js';

/** A `jobs` row as better-sqlite3 returns it. */
export interface JobRow {
  id: string;
  state: string;
  dialect: string;
  owner: string | null;
  idempotency_key: string | null;
  request_hash: string;
  method: string;
  url: string;
  req_headers: string;
  req_body: Buffer | null;
  req_body_size: number;
  options: string;
  attempts: number;
  lease_owner: string | null;
  lease_token: number;
  lease_expires_at: number | null;
  run_at: number;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  expires_at: number | null;
  version: number;
  progress: string | null;
  response: string | null;
  error: string | null;
  /** Its job group (migration 11 / 9), null when none. */
  grp: string | null;
}

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export function rowToJob(r: JobRow): Job {
  return withState(
    {
      id: r.id,
      dialect: r.dialect as Dialect,
      owner: r.owner,
      idempotencyKey: r.idempotency_key,
      requestHash: r.request_hash,
      request: {
        method: r.method,
        url: r.url,
        headers: JSON.parse(r.req_headers) as Job['request']['headers'],
        body: r.req_body,
        bodySize: r.req_body_size,
      },
      options: JSON.parse(r.options) as Job['options'],
      createdAt: r.created_at,
      group: r.grp ?? undefined,
    },
    r,
  );
}

/** What can change in a job row after its insert (the columns `completeReturningState` returns). */
export type JobStateRow = Pick<
  JobRow,
  | 'state'
  | 'attempts'
  | 'lease_owner'
  | 'lease_token'
  | 'lease_expires_at'
  | 'run_at'
  | 'updated_at'
  | 'finished_at'
  | 'expires_at'
  | 'version'
  | 'progress'
  | 'response'
  | 'error'
>;

/** What a job never changes after its insert. */
type FixedFields = Pick<Job, 'id' | 'dialect' | 'owner' | 'idempotencyKey' | 'requestHash' | 'request' | 'options' | 'createdAt' | 'group'>;

/** A job from its fixed fields (`j`: a copy of the job, or read from its row) and its current state columns.
 * Fields are listed, not spread: V8's object spread of a job took about 20 µs. */
export function withState(j: FixedFields, r: JobStateRow): Job {
  const job: Job = {
    id: j.id,
    state: r.state as JobState,
    dialect: j.dialect,
    owner: j.owner,
    idempotencyKey: j.idempotencyKey,
    requestHash: j.requestHash,
    request: j.request,
    options: j.options,
    attempts: r.attempts,
    leaseOwner: r.lease_owner,
    leaseToken: r.lease_token,
    leaseExpiresAt: r.lease_expires_at,
    runAt: r.run_at,
    createdAt: j.createdAt,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    expiresAt: r.expires_at,
    version: r.version,
    progress: parse(r.progress),
    response: parse(r.response),
    error: parse(r.error),
  };
  // Absent, not undefined, when it has none (most jobs).
  if (j.group !== undefined) job.group = j.group;
  return job;
}

/** The columns that make an insert start the job's first attempt under `lease` (JobLease), or queue it until
 * its run_at (NewJob.runAt, else its creation): a job not runnable yet at `lease.now` is queued all the same,
 * and so is a grouped one (NewJob.group: only a claim knows its group's bounds). Both stores insert these, and
 * newJobState reports them. */
export function startColumns(j: NewJob, lease: JobLease | undefined) {
  const run_at = j.runAt ?? j.createdAt;
  const grp = j.group ?? null;
  return lease && grp === null && run_at <= lease.now
    ? { state: 'running', attempts: 1, lease_owner: lease.owner, lease_token: 1, lease_expires_at: lease.now + lease.leaseMs, run_at, grp }
    : { state: 'queued', attempts: 0, lease_owner: null, lease_token: 0, lease_expires_at: null, run_at, grp };
}

/** The job a fresh insert creates, built without reading it back. Must match the INSERT's defaults. */
export function newJobState(j: NewJob, lease?: JobLease): Job {
  const c = startColumns(j, lease);
  return withState(
    {
      id: j.id,
      dialect: j.dialect,
      owner: j.owner,
      idempotencyKey: j.idempotencyKey,
      requestHash: j.requestHash,
      // bodySize as the row keeps it (req_body_size), also when the submitter left it out.
      request: j.request.bodySize === undefined ? { ...j.request, bodySize: j.request.body?.byteLength ?? 0 } : j.request,
      options: j.options,
      createdAt: j.createdAt,
      group: j.group,
    },
    {
      ...c,
      updated_at: j.createdAt,
      finished_at: null,
      expires_at: null,
      version: 1,
      progress: null,
      response: null,
      error: null,
    },
  );
}

export interface DeliveryRow {
  id: string;
  job_id: string;
  url: string;
  host: string;
  method: string;
  mode: string;
  secret: string | null;
  state: string;
  attempts: number;
  round: number;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_token: number;
  created_at: number;
  updated_at: number;
  last_status: number | null;
  last_error: string | null;
}

export function rowToDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    jobId: r.job_id,
    url: r.url,
    host: r.host,
    method: r.method as Delivery['method'],
    mode: r.mode as Delivery['mode'],
    secret: r.secret,
    state: r.state as Delivery['state'],
    attempts: r.attempts,
    round: r.round,
    nextAttemptAt: r.next_attempt_at,
    leaseOwner: r.lease_owner,
    leaseToken: r.lease_token,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastStatus: r.last_status,
    lastError: r.last_error,
  };
}

export interface AttemptRow {
  delivery_id: string;
  n: number;
  at: number;
  status: number | null;
  latency_ms: number;
  error: string | null;
  snippet: string | null;
}

export function rowToAttempt(r: AttemptRow): DeliveryAttempt {
  return { deliveryId: r.delivery_id, n: r.n, at: r.at, status: r.status, latencyMs: r.latency_ms, error: r.error, snippet: r.snippet };
}

/** A callback's columns as both backends store them: the host is kept apart for per-host fairness. */
export function callbackColumns(spec: CallbackSpec) {
  return { url: spec.url, host: new URL(spec.url).host, method: spec.method, mode: spec.mode, secret: spec.secret }; // = engine's callbackHost
}

export interface PushSubscriptionRow {
  id: string;
  owner: string | null;
  endpoint: string;
  p256dh: string;
  auth: string;
  created_at: number | string;
}

export function rowToPushSubscription(r: PushSubscriptionRow): PushSubscription {
  return { id: r.id, owner: r.owner, endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth, createdAt: Number(r.created_at) };
}

/** A `job_groups` row with its lag, as either backend returns it (PostgreSQL: bigints as strings, booleans). */
export interface GroupRow {
  key: string;
  parallelism: number;
  fifo: number | boolean;
  rate: number | null;
  period_ms: number | string | null;
  paused: number | boolean;
  created_at: number | string;
  updated_at: number | string;
  window_start: number | string | null;
  window_count: number;
  lag?: number;
}

export function rowToGroup(r: GroupRow): JobGroupRecord {
  const g: JobGroupRecord = {
    key: r.key,
    parallelism: r.parallelism,
    fifo: r.fifo === true || r.fifo === 1,
    paused: r.paused === true || r.paused === 1,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    lag: Number(r.lag ?? 0),
  };
  if (r.rate !== null && r.period_ms !== null) {
    g.rate = r.rate;
    g.periodMs = Number(r.period_ms);
  }
  return g;
}

/** A group's columns as both backends store them; a rate without a period counts per second. */
export function groupColumns(g: JobGroup) {
  const rated = g.rate !== undefined;
  return {
    key: g.key,
    parallelism: g.parallelism,
    fifo: g.fifo,
    rate: rated ? g.rate! : null,
    period_ms: rated ? (g.periodMs ?? 1000) : null,
    paused: g.paused,
  };
}
