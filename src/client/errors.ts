/**
 * The errors `asyncgate/client` throws where no final `Response` exists. Each has a stable `code` (API, listed
 * in docs/reference/errors.md): catch by class or switch on `code`. A leaf module: it imports nothing.
 */

/** AsyncClientError's `code`, one per subclass. */
export const CLIENT_ERROR_CODES = ['job-failed', 'job-canceled', 'job-gone', 'timeout', 'monitor-error'] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** What the client knew about the job when it gave up: enough to resume or to report. */
export interface JobSnapshot {
  /** The status monitor's URL. */
  monitor: string;
  /** The last status representation seen (parsed JSON), if the monitor speaks JSON. */
  representation?: unknown;
}

/** Base class: every client error carries `code` and, once a job exists, its `monitor` URL. */
export class AsyncClientError extends Error {
  override name = 'AsyncClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly job?: JobSnapshot,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The job failed and the server kept no response to return (`status: Failed` with an `error`). */
export class AsyncJobFailedError extends AsyncClientError {
  override name = 'AsyncJobFailedError';
  constructor(
    /** The job's `error` member: `{ code, message }` (asyncgate: upstream-timeout, upstream-unreachable…). */
    readonly error: { code: string; message: string },
    job: JobSnapshot,
  ) {
    super('job-failed', `the job failed: ${error.code}${error.message ? ` (${error.message})` : ''}`, job);
  }
}

/** Someone else canceled the job (a cancel this client sent because of its signal rejects with the signal's reason instead). */
export class AsyncJobCanceledError extends AsyncClientError {
  override name = 'AsyncJobCanceledError';
  constructor(job: JobSnapshot) {
    super('job-canceled', 'the job was canceled', job);
  }
}

/** The monitor answered 404 or 410, or the event stream said `gone`: the job was deleted or expired. */
export class AsyncJobGoneError extends AsyncClientError {
  override name = 'AsyncJobGoneError';
  constructor(job: JobSnapshot, readonly status?: number) {
    super('job-gone', `the job is gone${status ? ` (monitor answered ${status})` : ''}`, job);
  }
}

/** The overall `timeout` passed before the job finished. The job keeps running unless `cancelOnTimeout` was set. */
export class AsyncTimeoutError extends AsyncClientError {
  override name = 'AsyncTimeoutError';
  constructor(timeoutMs: number, job?: JobSnapshot) {
    super('timeout', `no final response within ${timeoutMs} ms${job ? `; the job is still at ${job.monitor}` : ''}`, job);
  }
}

/** The monitor answered something that is neither progress nor an outcome (e.g. 401, 500 after retries). */
export class AsyncMonitorError extends AsyncClientError {
  override name = 'AsyncMonitorError';
  constructor(
    message: string,
    job: JobSnapshot,
    /** The HTTP status the monitor answered, when it answered. */
    readonly status?: number,
    /** The body it answered (text, at most 64 KiB), e.g. a problem+json document. */
    readonly body?: string,
    options?: { cause?: unknown },
  ) {
    super('monitor-error', message, job, options);
  }
}

/** Why `verifyWebhook` refused a delivery: WebhookVerificationError's `code`. */
export const WEBHOOK_ERROR_CODES = [
  'webhook-missing-headers',
  'webhook-invalid-timestamp',
  'webhook-timestamp-too-old',
  'webhook-timestamp-too-new',
  'webhook-no-key',
  'webhook-invalid-signature',
] as const;
export type WebhookErrorCode = (typeof WEBHOOK_ERROR_CODES)[number];

/** `verifyWebhook` refused a delivery. `code` says why; never process the body after this. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
  constructor(
    readonly code: WebhookErrorCode,
    message: string,
  ) {
    super(message);
  }
}
