/**
 * `asyncgate/client`: call asynchronous HTTP APIs as if they were synchronous, and verify the callbacks they send.
 * Works against asyncgate and against servers following Azure's, OData's or RFC 9110's conventions. Uses the
 * global `fetch`; nothing here needs a native module.
 */
export { fetchAsync, type FetchAsyncOptions } from './fetch-async.js';
export type { CallbackOption } from './request-headers.js';
export type { AsyncProgress, AsyncStatus } from './status.js';
export { verifyWebhook, fetchWebhookKey, type VerifyWebhookOptions, type WebhookHeaders } from './verify-webhook.js';
export {
  AsyncClientError,
  AsyncJobCanceledError,
  AsyncJobFailedError,
  AsyncJobGoneError,
  AsyncMonitorError,
  AsyncTimeoutError,
  WebhookVerificationError,
  type JobSnapshot,
} from './errors.js';
export { SseParser, readEventStream, type SseEvent } from './sse.js';
