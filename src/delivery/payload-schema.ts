/**
 * What each delivery mode sends (payload.ts builds it), described for the OpenAPI document's `webhooks`: the
 * method, the body, the headers, and what the receiver's answer means (send.ts). Typed by CallbackMode, so a
 * new mode does not compile without its description.
 */
import { PROBLEM_SCHEMA } from '../errors/problem-schema.js';
import type { CallbackMode } from '../model.js';
import { JOB_ERROR_SCHEMA, STATUS_REPRESENTATION_SCHEMA } from '../resource/representation-schema.js';
import type { FieldDoc, JsonSchema } from '../shared/json-schema.js';

export interface CallbackPayloadDoc {
  summary: string;
  description: string;
  methods: ReadonlyArray<'POST' | 'PUT' | 'GET'>;
  /** Media type → the body's schema; absent for a bodiless request. */
  content?: Readonly<Record<string, JsonSchema>>;
  /** Headers this mode adds to CALLBACK_HEADERS. */
  headers?: Readonly<Record<string, FieldDoc>>;
}

const text = (description: string): JsonSchema => ({ type: 'string', description });

/** Headers every callback carries: the monitor, the job id, and the Standard Webhooks signature. */
export const CALLBACK_HEADERS: Readonly<Record<string, FieldDoc>> = {
  'webhook-id': {
    description: 'Standard Webhooks: the delivery id, stable across every attempt and redelivery of this callback (drop duplicates by it)',
    schema: text('msg_…'),
    required: true,
  },
  'webhook-timestamp': { description: 'Standard Webhooks: unix seconds when this attempt was signed', schema: { type: 'string', pattern: '^[0-9]+$' }, required: true },
  'webhook-signature': {
    description:
      'Standard Webhooks: space-separated signatures of `{webhook-id}.{webhook-timestamp}.{body}`: `v1,<base64 HMAC-SHA256>` for each server secret and for the callback\'s own secret, `v1a,<base64 ed25519>` with --sign-ed25519 (public key at {prefix}/webhook-key)',
    schema: text('v1,… [v1,…] [v1a,…]'),
    required: true,
  },
  link: { description: 'The monitor: `<…/jobs/{id}>; rel="monitor"`', schema: { type: 'string' }, required: true },
  'asyncgate-job-id': { description: 'The job id', schema: { type: 'string', pattern: '^[A-Za-z0-9_~-]{30}$' }, required: true },
  traceparent: {
    description: "W3C Trace Context: the job's trace (its `traceId`), on every attempt (docs/operations/tracing.md); absent only for jobs accepted before asyncgate kept traces",
    schema: { type: 'string', pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' },
  },
  tracestate: { description: "W3C Trace Context: the submitter's tracestate, when it sent one", schema: { type: 'string' } },
};

/** Lyst's callback_url summary (payload.ts statusSummary). */
export const STATUS_SUMMARY_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['status', 'source_url', 'job_id', 'status_url'],
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['completed', 'failed', 'canceled'] },
    source_url: { type: 'string', description: 'The original request URL' },
    job_id: { type: 'string' },
    status_url: { type: 'string', format: 'uri', description: 'The monitor' },
    response: {
      type: 'object',
      required: ['status'],
      additionalProperties: false,
      properties: { status: { type: 'integer' }, body: { description: 'The response body: parsed when it is JSON, else its text' } },
    },
    error: JOB_ERROR_SCHEMA,
  },
};

export const CALLBACK_PAYLOADS: Readonly<Record<CallbackMode, CallbackPayloadDoc>> = {
  response: {
    summary: 'The stored response itself',
    description:
      "Named by `Callback` (with `Pragma: redirect` or `Prefer: respond-async`), `Accept-Asynchronous: response`, or a registration. The upstream's body and headers (less framing, `Date`, `Set-Cookie`) with `Status: <code> <reason>`; a job that failed without an upstream response sends its problem document instead.",
    methods: ['POST', 'PUT'],
    content: { '*/*': { description: "The upstream's response body, as it sent it" }, 'application/problem+json': PROBLEM_SCHEMA },
    headers: { status: { description: "The upstream's status line, as in a CGI response: `200 OK`", schema: { type: 'string', pattern: '^[1-5][0-9]{2}( .*)?$' }, required: true } },
  },
  notify: {
    summary: 'The status representation',
    description: 'Named by `Accept-Asynchronous: notify` + `Asynchronous-end-point`, or a registration: the finished job\'s status representation.',
    methods: ['POST', 'PUT'],
    content: { 'application/json': STATUS_REPRESENTATION_SCHEMA },
  },
  status: {
    summary: 'A JSON summary',
    description: "Named by `callback_url` in a JSON body (a route with callbackBodyField), or a registration: Lyst's summary of the outcome.",
    methods: ['POST', 'PUT'],
    content: { 'application/json': STATUS_SUMMARY_SCHEMA },
  },
  ping: {
    summary: 'A bodiless GET',
    description: 'Named by OData\'s `Prefer: respond-async, callback; url="…"`, or a registration: fetch the monitor to learn more.',
    methods: ['GET'],
  },
};

/** What the receiver's answer means (send.ts, docs/callbacks.md#retries-and-dead-letters). */
export const RECEIVER_ANSWERS: Readonly<Record<string, string>> = {
  '2XX': 'Delivered',
  '410': 'Gone: this callback is not sent again',
  default: 'Not delivered: sent again on the retry schedule (`Retry-After` is honoured), then kept as a dead letter',
};
