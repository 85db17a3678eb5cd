/**
 * The reusable parts of the OpenAPI document, as data: the dialect headers a client sends to the proxied API
 * and the 202 it gets back (for API builders to `$ref` from their own documents), the headers the upstream
 * receives, the conditional and range headers of the monitor and result, the security schemes, and the named
 * schemas. http/openapi.ts turns every object listed here into a component and refers to it wherever a route
 * uses the same object.
 */
import { CALLBACK_HEADERS, STATUS_SUMMARY_SCHEMA } from '../delivery/payload-schema.js';
import type { ProblemType } from '../errors/codes.js';
import { PROBLEM_SCHEMA } from '../errors/problem-schema.js';
import { JOB_ERROR_SCHEMA, STATUS_REPRESENTATION_SCHEMA } from '../resource/representation-schema.js';
import { PROGRESS_TOKEN_HEADER, PROGRESS_URL_HEADER } from '../resource/progress-token.js';
import type { FieldDoc, JsonSchema } from '../shared/json-schema.js';
import * as admin from './admin-schemas.js';
import type { Access } from './route-table.js';
import { SESSION_COOKIE } from './session.js';

const text: JsonSchema = { type: 'string' };
const field = (description: string, examples?: Record<string, string>, schema: JsonSchema = text): FieldDoc => ({
  description,
  schema,
  ...(examples ? { examples } : {}),
});

// The dialects: what a client sends to the proxied API to ask for an asynchronous answer (docs/dialects.md).

export const PREFER = field(
  '`respond-async` (RFC 7240 §4.1): answer `202 Accepted` with a status monitor instead of waiting. `wait=N` (§4.3) with it: wait up to N seconds for the real response first. Other preferences are passed to the upstream.',
  { respondAsync: 'respond-async', respondAsyncWait: 'respond-async, wait=10' },
);
export const PREFER_ODATA_CALLBACK = field(
  'OData 4.01 Part 1 §8.2.8.1: with `respond-async`, the `callback` preference names a URL pinged with a bodiless `GET` once the job has finished.',
  { odataCallback: 'respond-async, callback; url="https://client.example/done"' },
);
export const ACCEPT_ASYNCHRONOUS = field(
  'The Fedora "Asynchronous REST API" proposal: `polling` (a 202; the monitor answers `303 See Other` to the result once done), `notify` (the status representation is POSTed to `Asynchronous-end-point`), `response` (the response is POSTed there).',
  { polling: 'polling', notify: 'notify', response: 'response' },
);
export const ASYNCHRONOUS_END_POINT = field('With `Accept-Asynchronous: notify` or `response`: the absolute http(s) URL to call, optionally in `<…>`.', {
  endpoint: 'https://client.example/inbox',
});
export const CALLBACK = field(
  "Jeff Lindsay's Response Redirection, in RFC 8288 Link syntax: with `Pragma: redirect` or `Prefer: respond-async`, the response is sent to each URL listed. `method` is post (default) or put; `secret` adds a second HMAC signature keyed by it.",
  { redirect: '<https://client.example/callback>; method="post"; rel="redirect"', withSecret: '<https://client.example/callback>; rel="respond-async"; secret="s3cr3t"' },
);
export const PRAGMA_REDIRECT = field('`redirect`, with a `Callback` header: answer 202 and send the response to the callback.', { redirect: 'redirect' });
export const IDEMPOTENCY_KEY = field(
  'draft-ietf-httpapi-idempotency-key-header: a repeat with the same key and credentials returns the same job and runs nothing; the same key for another request is `422 idempotency-key-reused`. On a synchronous unsafe request, the request runs as a job and is answered on its connection.',
  { key: '"order-42"' },
  { type: 'string', minLength: 1, maxLength: 257 },
);

export const NOT_BEFORE = field(
  'The job may not run before this time: delay-seconds or an HTTP-date, as `Retry-After` (RFC 9110 §10.2.3). Accepted at once and `NotStarted` until then; at most a year ahead.',
  { seconds: '600', date: 'Wed, 02 Dec 2026 06:00:00 GMT' },
);

// What the upstream receives with a job's request (docs/dialects.md#progress-from-the-upstream).

export const UPSTREAM_JOB_ID = field('Sent to the upstream with every request of a job: the job id.', undefined, { type: 'string', pattern: '^[A-Za-z0-9_~-]{30}$' });
export const UPSTREAM_PROGRESS_URL = field("Sent to the upstream with every request of a job: where to POST progress reports ({prefix}/jobs/{id}/progress).", undefined, {
  type: 'string',
  format: 'uri',
});
export const UPSTREAM_PROGRESS_TOKEN = field('Sent to the upstream with every request of a job: the token of its progress reports (as `Authorization: Bearer <token>`, or back in this header).');

// Request headers of the monitor, the result and the event stream.

export const PREFER_WAIT = field('`wait=N`: a long poll. Answers as soon as the job changes, or after N seconds (at most --max-wait).', { wait: 'wait=10' });
export const IF_NONE_MATCH = field('An ETag held: `304` while it is still current; on a long poll, the version to wait from.');
export const RANGE = field('A byte range of a 2xx result (RFC 9110 §14.2): `206` with `Content-Range`.', { first: 'bytes=0-1023' });
export const IF_RANGE = field("Apply `Range` only while the result's ETag or Last-Modified is still this (RFC 9110 §13.1.5).");
export const LAST_EVENT_ID = field('Resume the event stream after this event (a job version).');
export const WS_AFTER = field('Resume the WebSocket after this version: states up to it are not sent again (as Last-Event-ID).', { resume: '7' }, { type: 'string', pattern: '^[0-9]{1,15}$' });
export const UPGRADE_WEBSOCKET = field('`websocket`, with `Connection: Upgrade` and the handshake fields of RFC 6455 §4.1; without it the answer is `426 upgrade-required`.', { websocket: 'websocket' });

// Response headers.

export const LOCATION = field('The status monitor');
export const OPERATION_LOCATION = field('The status monitor (Azure long-running-operation convention)');
export const RETRY_AFTER = field('Seconds to wait before polling again', undefined, { type: 'string', pattern: '^[0-9]+$' });
export const PREFERENCE_APPLIED = field('The preferences honoured (RFC 7240 §3): `respond-async`, `callback`');
export const LINK = field('`rel="monitor"` and `rel="events"` links (RFC 8288)');
export const CONTENT_LOCATION = field('The monitor: the body is its representation');
export const ETAG = field("The representation's version (a strong validator)");
export const CACHE_CONTROL = field('How long the answer may be kept');
export const EXPIRES = field('When the finished job and its result will be purged');
export const CONTENT_RANGE = field('The range sent, or `bytes */<size>` when none could be');
export const WWW_AUTHENTICATE = field('The credentials wanted (RFC 6750)');
export const ALLOW = field('The methods the path accepts');

/** The 202 a proxied request asking for asynchrony gets, for API builders' own documents. */
export const ACCEPTED_RESPONSE = {
  description: 'Accepted: the job is committed; poll the monitor (Location), or wait for the callback',
  headers: {
    Location: LOCATION,
    'Operation-Location': OPERATION_LOCATION,
    'Retry-After': RETRY_AFTER,
    'Preference-Applied': PREFERENCE_APPLIED,
    Link: LINK,
    'Content-Location': CONTENT_LOCATION,
    ETag: ETAG,
  },
  content: { 'application/json': STATUS_REPRESENTATION_SCHEMA },
};

/** Headers some problems carry. */
export const PROBLEM_HEADERS: Partial<Record<ProblemType, Readonly<Record<string, FieldDoc>>>> = {
  unauthorized: { 'WWW-Authenticate': WWW_AUTHENTICATE },
  'progress-token-required': { 'WWW-Authenticate': WWW_AUTHENTICATE },
  'poll-too-soon': { 'Retry-After': RETRY_AFTER },
  'result-not-ready': { 'Retry-After': RETRY_AFTER },
  'idempotency-key-in-use': { 'Retry-After': RETRY_AFTER },
  'queue-full': { 'Retry-After': RETRY_AFTER },
  'storage-full': { 'Retry-After': RETRY_AFTER },
  'shutting-down': { 'Retry-After': RETRY_AFTER },
  'method-not-allowed': { Allow: ALLOW },
  'range-not-satisfiable': { 'Content-Range': CONTENT_RANGE },
};

/** components.parameters: name → [header, doc]. */
export const HEADER_PARAMETERS: Readonly<Record<string, readonly [string, FieldDoc]>> = {
  Prefer: ['Prefer', PREFER],
  PreferODataCallback: ['Prefer', PREFER_ODATA_CALLBACK],
  AcceptAsynchronous: ['Accept-Asynchronous', ACCEPT_ASYNCHRONOUS],
  AsynchronousEndPoint: ['Asynchronous-end-point', ASYNCHRONOUS_END_POINT],
  Callback: ['Callback', CALLBACK],
  PragmaRedirect: ['Pragma', PRAGMA_REDIRECT],
  IdempotencyKey: ['Idempotency-Key', IDEMPOTENCY_KEY],
  NotBefore: ['Asyncgate-Not-Before', NOT_BEFORE],
  UpstreamJobId: ['asyncgate-job-id', UPSTREAM_JOB_ID],
  UpstreamProgressUrl: [PROGRESS_URL_HEADER, UPSTREAM_PROGRESS_URL],
  UpstreamProgressToken: [PROGRESS_TOKEN_HEADER, UPSTREAM_PROGRESS_TOKEN],
  PreferWait: ['Prefer', PREFER_WAIT],
  IfNoneMatch: ['If-None-Match', IF_NONE_MATCH],
  Range: ['Range', RANGE],
  IfRange: ['If-Range', IF_RANGE],
  LastEventId: ['Last-Event-ID', LAST_EVENT_ID],
  WebhookId: ['webhook-id', CALLBACK_HEADERS['webhook-id']!],
  WebhookTimestamp: ['webhook-timestamp', CALLBACK_HEADERS['webhook-timestamp']!],
  WebhookSignature: ['webhook-signature', CALLBACK_HEADERS['webhook-signature']!],
};

/** components.headers: name → doc (the header's name is the key's spelling with hyphens). */
export const RESPONSE_HEADERS: Readonly<Record<string, FieldDoc>> = {
  Location: LOCATION,
  'Operation-Location': OPERATION_LOCATION,
  'Retry-After': RETRY_AFTER,
  'Preference-Applied': PREFERENCE_APPLIED,
  Link: LINK,
  'Content-Location': CONTENT_LOCATION,
  ETag: ETAG,
  'Cache-Control': CACHE_CONTROL,
  Expires: EXPIRES,
  'Content-Range': CONTENT_RANGE,
  'WWW-Authenticate': WWW_AUTHENTICATE,
  Allow: ALLOW,
};

/** components.schemas, by name. */
export const NAMED_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  StatusRepresentation: STATUS_REPRESENTATION_SCHEMA,
  JobError: JOB_ERROR_SCHEMA,
  Problem: PROBLEM_SCHEMA,
  StatusSummary: STATUS_SUMMARY_SCHEMA,
  Delivery: admin.DELIVERY_SCHEMA,
  DeliveryAttempt: admin.DELIVERY_ATTEMPT_SCHEMA,
  DeliveryDetail: admin.DELIVERY_DETAIL_SCHEMA,
  JobDetail: admin.JOB_DETAIL_SCHEMA,
  JobPage: admin.JOB_PAGE_SCHEMA,
  DeliveryPage: admin.DELIVERY_PAGE_SCHEMA,
  Overview: admin.OVERVIEW_SCHEMA,
  Health: admin.HEALTH_SCHEMA,
};

/** The security schemes: every credential the access check (access.ts, admin-access.ts) accepts. */
export function securitySchemes(ownerHeader: string | undefined): Record<string, unknown> {
  const owner = ownerHeader
    ? { ownerHeader: { type: 'apiKey', in: 'header', name: ownerHeader, description: 'Job owner: the header named by --owner-header, the same value the job was submitted with' } }
    : {
        ownerAuthorization: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'Job owner: the same Authorization the job was submitted with, whatever its scheme (a job is bound to a salted hash of it). Anyone else gets 404.',
        },
        ownerCookie: { type: 'apiKey', in: 'header', name: 'Cookie', description: 'Job owner, when the job was submitted without Authorization: the same Cookie header' },
      };
  return {
    ...owner,
    progressToken: { type: 'http', scheme: 'bearer', description: `The upstream: the job's progress token, sent to it in ${PROGRESS_TOKEN_HEADER}` },
    progressTokenHeader: { type: 'apiKey', in: 'header', name: PROGRESS_TOKEN_HEADER, description: 'The upstream: the progress token echoed back in its own header' },
    adminToken: { type: 'http', scheme: 'bearer', description: 'The admin token (--admin-token): may read and change everything' },
    viewerToken: { type: 'http', scheme: 'bearer', description: 'The viewer token (--viewer-token): may read, not change' },
    dashboardSession: {
      type: 'apiKey',
      in: 'cookie',
      name: SESSION_COOKIE,
      description: 'A dashboard session, made by signing in with the admin or viewer token; a state change must come from the same origin',
    },
  };
}

/** The security requirements of a route by its access (any one of them will do). */
export function securityOf(access: Access, ownerHeader: string | undefined): Array<Record<string, string[]>> | undefined {
  switch (access) {
    case 'owner':
      // A job submitted without credentials is reached without any.
      return ownerHeader ? [{}, { ownerHeader: [] }] : [{}, { ownerAuthorization: [] }, { ownerCookie: [] }];
    case 'upstream':
      return [{ progressToken: [] }, { progressTokenHeader: [] }];
    case 'admin':
      return [{ adminToken: [] }, { dashboardSession: [] }];
    case 'viewer':
      return [{ adminToken: [] }, { viewerToken: [] }, { dashboardSession: [] }];
    case 'public':
      return undefined;
  }
}

/** The problems the access check itself answers (a route with its own `denied` answers them its way). */
export const ACCESS_PROBLEMS: Readonly<Record<Access, readonly ProblemType[]>> = {
  owner: ['job-not-found', 'job-gone'],
  upstream: ['progress-token-required', 'progress-token-invalid'],
  admin: ['not-found', 'unauthorized', 'forbidden'],
  viewer: ['not-found', 'unauthorized', 'forbidden'],
  public: [],
};

/** The `:id` of a job's routes. */
export const JOB_ID = field('The job id (30 URL-safe characters)', undefined, { type: 'string', pattern: '^[A-Za-z0-9_~-]{30}$' });
/** The `:id` of a delivery's routes. */
export const DELIVERY_ID = field('The delivery id, also its webhook-id (msg_…)');
