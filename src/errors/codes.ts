/**
 * Stable error identifiers. These are API: clients match on them, so a code is never renamed or reused. Every
 * code asyncgate gives, here or on an Error's `code`, is spelled the same way: lower-case words joined by
 * hyphens.
 *
 * PROBLEM_TYPES are the `type` slugs of asyncgate's own `application/problem+json` answers (RFC 9457);
 * the full `type` is `urn:asyncgate:problem:<slug>`. The `error.code` values of a Failed or Canceled job are
 * JOB_ERROR_CODES (model.ts, beside the job they describe). docs/reference/errors.md documents them all.
 */
import type { JobErrorCode } from '../model.js';

export const PROBLEM_TYPES = {
  'invalid-prefer': { status: 400, title: 'Malformed Prefer header' },
  'invalid-accept-asynchronous': { status: 400, title: 'Malformed Accept-Asynchronous header' },
  'invalid-asynchronous-end-point': { status: 400, title: 'Malformed Asynchronous-end-point header' },
  'invalid-idempotency-key': { status: 400, title: 'Malformed Idempotency-Key header' },
  'invalid-callback': { status: 400, title: 'Malformed callback' },
  'too-many-callbacks': { status: 400, title: 'More callbacks than a job may have' },
  'callback-refused': { status: 400, title: 'Callback URL refused by the SSRF guard' },
  'invalid-push-subscription': { status: 400, title: 'Malformed push subscription' },
  'too-many-push-subscriptions': { status: 400, title: 'More push subscriptions than one owner may have' },
  'invalid-header': { status: 400, title: 'Malformed request header' },
  'invalid-body': { status: 400, title: 'Malformed request body' },
  'invalid-query': { status: 400, title: 'Malformed query parameter' },
  'malformed-request': { status: 400, title: 'The request is not valid HTTP' },
  'headers-too-large': { status: 431, title: 'Request header fields too large' },
  'async-required': { status: 400, title: 'This resource must be requested asynchronously' },
  'not-found': { status: 404, title: 'Not found' },
  'job-not-found': { status: 404, title: 'No such job' },
  'push-subscription-not-found': { status: 404, title: 'No such push subscription' },
  'job-gone': { status: 410, title: 'The job was deleted or has expired' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'upgrade-required': { status: 426, title: 'Upgrade Required: this endpoint is a WebSocket' },
  'result-not-ready': { status: 409, title: 'The job has not finished yet' },
  'range-not-satisfiable': { status: 416, title: 'No byte of the requested range is in the result' },
  'job-failed': { status: 409, title: 'The job failed without an upstream response' },
  'job-canceled': { status: 409, title: 'The job was canceled' },
  'job-already-finished': { status: 409, title: 'The job has already finished' },
  'delivery-not-finished': { status: 409, title: 'The delivery has not finished: there is nothing to redeliver' },
  'job-not-retryable': { status: 409, title: 'Only a Failed or Canceled job can be retried' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key reused for a different request' },
  'idempotency-key-in-use': { status: 409, title: 'A request with this Idempotency-Key is still in progress' },
  'body-too-large': { status: 413, title: 'Request body too large' },
  'poll-too-soon': { status: 429, title: 'Polled sooner than the minimum poll interval' },
  'queue-full': { status: 503, title: 'Too many jobs waiting; try again later' },
  'storage-full': { status: 507, title: 'The job store is out of space; try again later' },
  'shutting-down': { status: 503, title: 'The gateway is shutting down' },
  'upstream-unreachable': { status: 502, title: 'The upstream could not be reached' },
  'upstream-timeout': { status: 504, title: 'The upstream did not answer in time' },
  'handler-failed': { status: 500, title: 'The route handler failed' },
  'unauthorized': { status: 401, title: 'Admin token required' },
  'forbidden': { status: 403, title: 'Not allowed with these credentials' },
  'progress-token-required': { status: 401, title: 'Progress token required' },
  'progress-token-invalid': { status: 403, title: 'Progress token does not match the job' },
  'qstash-token-required': { status: 401, title: 'A QStash token is required: Authorization: Bearer <token>' },
  'message-not-found': { status: 404, title: 'No such message' },
  'invalid-message': { status: 400, title: 'Malformed message' },
  'destination-refused': { status: 400, title: 'Destination refused by the SSRF guard' },
  'not-supported': { status: 501, title: 'Not supported by asyncgate' },
  'internal': { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemType = keyof typeof PROBLEM_TYPES;

export const PROBLEM_TYPE_PREFIX = 'urn:asyncgate:problem:';

/**
 * The problem a finished job without an upstream response answers with, wherever it is asked (the `wait=N`
 * race, `GET …/result`, a `response`-mode callback), by the job's error code.
 */
export const JOB_FAILURE_PROBLEMS = {
  'upstream-http-error': 'job-failed',
  'upstream-unreachable': 'upstream-unreachable',
  'upstream-timeout': 'upstream-timeout',
  'upstream-interrupted': 'upstream-unreachable',
  canceled: 'job-canceled',
  'result-too-large': 'job-failed',
  'handler-failed': 'handler-failed',
  'handler-not-registered': 'handler-failed',
  'upstream-operation-failed': 'job-failed',
  'upstream-monitor-refused': 'job-failed',
  internal: 'job-failed',
} as const satisfies Record<JobErrorCode, ProblemType>;
