/**
 * Terminology — the words asyncgate's code uses, and nothing else. A leaf module: it imports nothing.
 *
 * - **job**: one client request accepted for asynchronous execution. It is committed to the store before
 *   the `202 Accepted` leaves, and it moves through the states below exactly once.
 * - **attempt**: one try at running a job (one request to the upstream). A job may need several when a
 *   safe request meets a transient failure.
 * - **lease**: the right of one process to run a job's current attempt, renewed by heartbeat. A lease
 *   carries a fencing token (`leaseToken`): completion is accepted only with the current token, so a
 *   rescued attempt that answers late cannot overwrite the newer one.
 * - **dialect**: the way a client asked for asynchrony (`Prefer: respond-async`, `Accept-Asynchronous`…).
 * - **monitor**: the status resource of a job, `GET {prefix}/jobs/{id}`.
 * - **result**: the stored upstream response of a finished job, replayed at `{prefix}/jobs/{id}/result`.
 * - **delivery / callback**: sending the result to a URL the client named (see delivery/).
 * - **tombstone**: what is left of a deleted or expired job for a while, so the monitor answers `410 Gone`
 *   instead of `404`.
 * - **owner**: a hash of the credentials a job was submitted with; only the same credentials see it.
 */

/** Life cycle: queued → running → succeeded | failed | canceled (running may go back to queued on retry). */
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'canceled']);

/**
 * How the client asked for an asynchronous answer: `prefer` (Prefer: respond-async), `polling` / `notify` /
 * `response` (Accept-Asynchronous), `callback` (a Callback header with Pragma: redirect), `callback-url` (a
 * field in a JSON body), `rule` (a route rule made it asynchronous), `idempotency-key` (a synchronous request
 * with an Idempotency-Key, answered on its connection when done), `qstash` (a message published through the
 * QStash-compatible API, docs/qstash.md).
 */
export const DIALECTS = ['prefer', 'polling', 'notify', 'response', 'callback', 'callback-url', 'rule', 'idempotency-key', 'qstash'] as const;
export type Dialect = (typeof DIALECTS)[number];

/** Header list as ordered [name, value] pairs: preserves repeats and order, JSON-serialisable. */
export type HeaderPairs = Array<[string, string]>;

export interface JobRequest {
  method: string;
  /** Path and query as the client sent it (origin-form), e.g. `/reports?year=2026`. */
  url: string;
  /** Headers to forward (control and hop-by-hop headers already removed). */
  headers: HeaderPairs;
  /** The body when small enough to keep with the job; null when empty or stored in pieces (see bodySize). */
  body: Uint8Array | null;
  /** Size of the body in bytes. When > 0 and `body` is null, the body is stored in pieces
   * (`JobStore.readRequestBody`): large uploads are never held whole in memory. */
  bodySize?: number;
}

export interface JobProgress {
  current?: number;
  total?: number;
  message?: string;
  percent?: number;
}

/** How an attempt ended, for the job: done (`succeeded`, `failed`), back in the queue for another attempt
 * (`requeued`: a transient failure, a timeout, or a lease lost or handed back), or `canceled` while it ran. */
export const ATTEMPT_OUTCOMES = ['succeeded', 'failed', 'requeued', 'canceled'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** One attempt as the store remembers it, for the console's timeline (the last ATTEMPTS_KEPT of them). */
export interface AttemptRecord {
  /** 1, 2, …, counted over the job's whole life: an operator's retry goes on counting. */
  n: number;
  startedAt: number;
  /** The four below are absent while the attempt runs (or when it was cut short before the store kept them). */
  endedAt?: number;
  outcome?: AttemptOutcome;
  /** The upstream's status, when it answered. */
  status?: number;
  /** Why it did not succeed: a job error code (`upstream-timeout`, `upstream-interrupted`…). */
  code?: JobErrorCode;
}

/** A progress report as the store remembers it (the last PROGRESS_KEPT of them). */
export interface ProgressRecord extends JobProgress {
  at: number;
}

/** A job's attempts and recent progress reports, oldest first. */
export interface JobHistory {
  attempts: AttemptRecord[];
  progress: ProgressRecord[];
}

export interface JobResponseMeta {
  status: number;
  headers: HeaderPairs;
  size: number;
  contentType: string | null;
}

/** Why a job failed or was canceled: its `error.code` (API: never renamed or reused), with what it means. */
export const JOB_ERROR_CODES = {
  /** The upstream answered 4xx/5xx; its response is kept at the result URL. */
  'upstream-http-error': 'the upstream answered with an error status',
  /** Connection refused / DNS failure / 502-504 after every allowed attempt. */
  'upstream-unreachable': 'the upstream could not be reached after every allowed attempt',
  /** One attempt ran longer than the route's timeout. */
  'upstream-timeout': 'the upstream did not answer within the timeout',
  /** A non-idempotent request was interrupted mid-flight (crash, lost connection) and was not re-sent. */
  'upstream-interrupted': 'a non-idempotent request was interrupted mid-flight and not re-sent',
  /** The client canceled the job (or deleted it while running). */
  canceled: 'the job was canceled',
  /** The upstream response was larger than the configured result limit. */
  'result-too-large': 'the upstream response exceeded the result size limit',
  /** Library mode: the route's handler threw (or rejected); the message is the error's message. */
  'handler-failed': 'the route handler threw an error',
  /** Library mode: no handler of the job's name is registered in the process that claimed it. */
  'handler-not-registered': 'no handler of this name is registered in this process',
  /** A followed upstream operation (route rule `upstreamAsync: follow`) ended Failed or Canceled; the upstream's
   * last status document is kept at the result URL. */
  'upstream-operation-failed': 'the upstream operation failed',
  /** A followed upstream operation named a monitor or result on another origin than the upstream's. */
  'upstream-monitor-refused': 'the upstream named a monitor on another origin',
  /** asyncgate failed the job for an internal reason (a bug or a storage failure). */
  internal: 'internal error',
} as const;

export type JobErrorCode = keyof typeof JOB_ERROR_CODES;

export interface JobError {
  code: JobErrorCode;
  message: string;
}

/** Per-job options decided at accept time (from the dialect and the route rule). */
export interface JobOptions {
  /** Accept-Asynchronous: polling — the monitor answers 303 to the result once done (the Fedora proposal says 301). */
  redirectWhenDone?: boolean;
  /** Upstream timeout for one attempt, ms. */
  timeoutMs: number;
  /** Whether a lost or failed attempt may be re-sent (idempotent method, Idempotency-Key, or rule). */
  retryable: boolean;
  /** Most attempts allowed for transient failures. */
  maxAttempts: number;
  /** How long a finished job and its result are kept, ms. */
  retentionMs: number;
  /** Name of the route rule that matched, for logs and the admin API. */
  route?: string;
  /** The client-facing origin at accept time, for absolute URLs in callbacks sent when no request is around. */
  origin?: string;
  /** The original request URL, absolute (`source_url` in Lyst's callback_url convention). */
  sourceUrl?: string;
  /** The hosts of the callbacks given at submission: whichever process runs the job reserves delivery slots
   * there and hands the callbacks over in the completing commit. */
  callbackHosts?: string[];
  /** The job's trace (W3C Trace Context), decided at accept: docs/operations/tracing.md. Absent on jobs accepted
   * before asyncgate kept it. */
  trace?: JobTrace;
  /** Web Push: send the owner's push subscriptions a summary when the job is done (docs/push.md). */
  push?: boolean;
  /** Route rule `upstreamAsync: follow`: an upstream 202 naming a monitor is followed to its end
   * (docs/async-upstreams.md). */
  upstreamAsync?: 'follow';
  /** The upstream operation being followed, stored as soon as the upstream names it (`JobStore.setUpstreamMonitor`):
   * an attempt that finds it resumes polling instead of sending the request again. The one option that may change
   * after insert. */
  upstreamMonitor?: UpstreamMonitor;
  /** A message of the QStash-compatible API: sent to its own destination instead of the upstream (docs/qstash.md). */
  message?: MessageOptions;
}

/**
 * A message (QStash-compatible API, docs/qstash.md): a job whose request goes to an absolute URL of the client's
 * choosing, signed with `Upstash-Signature`, retried on any answer but a 2xx. Its request's `url` is the destination.
 */
export interface MessageOptions {
  /** The absolute URL the request is sent to (SSRF-guarded like a callback). */
  destination: string;
  /** `Upstash-Retry-Delay`: an expression of `retried` giving the wait before the next attempt, ms. */
  retryDelay?: string;
  /** When it may first be delivered (`Upstash-Delay`, `Upstash-Not-Before`), epoch ms. */
  notBefore?: number;
  /** The URL group (topic) it was published to, and the endpoint's name there. */
  urlGroup?: string;
  endpointName?: string;
  /** The queue it was enqueued to. */
  queue?: string;
  /** The schedule that made it. */
  scheduleId?: string;
  labels?: string[];
  /** `Upstash-Callback` / `Upstash-Failure-Callback` (sent as deliveries of modes `qstash-callback` / `qstash-failure-callback`). */
  callback?: string;
  failureCallback?: string;
  /** The publisher's address. */
  callerIp?: string;
  /** `Upstash-Flow-Control-Key` and its bounds (`Upstash-Flow-Control-Value`): the job group it runs in. */
  flowControl?: { key: string; parallelism?: number; rate?: number; periodMs?: number };
}

/** An upstream's asynchronous operation as the gateway follows it. */
export interface UpstreamMonitor {
  /** The absolute URL polled (Operation-Location, Azure-AsyncOperation or Location of the upstream's 202). */
  url: string;
  /** `status-json`: it answers a status document; `plain`: 202 while running, then the final response. */
  convention: 'status-json' | 'plain';
  /** The 202's Location when it names something else (Azure's final resource of a POST). */
  location?: string;
  /** The operation's cancel link, when it named one (else cancel DELETEs the monitor). */
  cancel?: string;
  /** When the original request was sent (epoch ms): the follow ends at this plus the job's timeout. */
  since: number;
}

/**
 * A job's trace context: `traceparent` names the submitter's trace (or a new one when it sent none) with the
 * accept span as parent-id (a random id when no OpenTelemetry SDK records spans); `tracestate` is the
 * submitter's, passed on.
 */
export interface JobTrace {
  traceparent: string;
  tracestate?: string;
}

/** How the spans of a job's execution (upstream attempts, handler runs, callbacks) relate to its accept span:
 * `link` starts a trace of their own, linked to it; `child` puts them in the job's trace, under it. */
export const TRACE_EXECUTIONS = ['link', 'child'] as const;
export type TraceExecution = (typeof TRACE_EXECUTIONS)[number];

export interface Job {
  id: string;
  state: JobState;
  dialect: Dialect;
  owner: string | null;
  idempotencyKey: string | null;
  /** Hash of method + url + body, to tell a repeat from a conflicting reuse of an Idempotency-Key. */
  requestHash: string;
  request: JobRequest;
  options: JobOptions;
  attempts: number;
  leaseOwner: string | null;
  leaseToken: number;
  leaseExpiresAt: number | null;
  runAt: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  expiresAt: number | null;
  /** Bumped on every change: the monitor's ETag. */
  version: number;
  /** Its job group (NewJob.group); absent when it has none. */
  group?: string;
  progress: JobProgress | null;
  response: JobResponseMeta | null;
  error: JobError | null;
}

/** A job as submitted, before the store gives it state. */
export interface NewJob {
  id: string;
  dialect: Dialect;
  owner: string | null;
  idempotencyKey: string | null;
  requestHash: string;
  request: JobRequest;
  options: JobOptions;
  createdAt: number;
  /** Not runnable before this time (epoch ms): committed queued and claimed once it has come. Absent: at once. */
  runAt?: number;
  /** The job group it runs in (JobGroup in store/port.ts: a QStash queue or flow-control key): claimed only within
   * the group's bounds, and never run at once by the accepting process unless the group allows it. */
  group?: string;
  /** Callbacks to deliver once the job finishes, committed with it (ids are their webhook-ids). */
  callbacks?: Array<CallbackSpec & { id: string }>;
}

/**
 * What a callback carries: `response` (the stored response itself), `notify` (the status representation),
 * `status` (a JSON summary: status, job id, URLs, the response), `ping` (a bodiless GET).
 */
export const DELIVERY_MODES = ['response', 'notify', 'status', 'ping'] as const;
/** A mode a client may ask a callback for. */
export type CallbackMode = (typeof DELIVERY_MODES)[number];
/** `push`: an encrypted Web Push message to one push subscription of the job's owner (docs/push.md); asyncgate
 * makes these deliveries itself when a job asks for a push, no client names the mode. */
export const PUSH_MODE = 'push';
/** A QStash message's `Upstash-Callback` (sent when it finished) and `Upstash-Failure-Callback` (only when it failed):
 * the QStash callback body, signed with `Upstash-Signature` (docs/qstash.md). */
export const QSTASH_MODES = ['qstash-callback', 'qstash-failure-callback'] as const;
export type QstashMode = (typeof QSTASH_MODES)[number];
export type DeliveryMode = CallbackMode | typeof PUSH_MODE | QstashMode;

/**
 * waiting: the job is not finished; pending: due at nextAttemptAt; delivering: an attempt holds a lease;
 * delivered: a 2xx came back; failed: the schedule ran out (dead letter); gone: the receiver answered 410 (or, for a QStash failure callback, the message did not fail: nothing to send).
 */
export const DELIVERY_STATES = ['waiting', 'pending', 'delivering', 'delivered', 'failed', 'gone'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** A browser's Web Push subscription (RFC 8030, keys of RFC 8291), bound to the owner that registered it. */
export interface PushSubscription {
  id: string;
  owner: string | null;
  endpoint: string;
  /** The user agent's P-256 public key and auth secret, base64url, as PushSubscription.toJSON() gives them. */
  p256dh: string;
  auth: string;
  createdAt: number;
}

/** A callback as the client asked for it. */
export interface CallbackSpec {
  url: string;
  method: 'POST' | 'PUT' | 'GET';
  mode: DeliveryMode;
  /** The callback's own HMAC key (the `secret` parameter of the `Callback` header), if it gave one. */
  secret: string | null;
}

export interface Delivery extends CallbackSpec {
  /** Also the `webhook-id`: stable across every attempt of this delivery. */
  id: string;
  jobId: string;
  host: string;
  state: DeliveryState;
  /** Attempts ever made; `round` counts those since the last (re)delivery, indexing the retry schedule. */
  attempts: number;
  round: number;
  nextAttemptAt: number | null;
  leaseOwner: string | null;
  leaseToken: number;
  createdAt: number;
  updatedAt: number;
  lastStatus: number | null;
  lastError: string | null;
}

/** One try at a delivery, kept for the admin API and dashboard. */
export interface DeliveryAttempt {
  deliveryId: string;
  n: number;
  at: number;
  status: number | null;
  latencyMs: number;
  error: string | null;
  /** The first bytes of the receiver's reply. */
  snippet: string | null;
}
