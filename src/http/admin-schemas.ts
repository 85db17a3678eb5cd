/**
 * The JSON the admin API and the service routes answer with, as JSON Schemas for the OpenAPI document (the
 * views are built in admin-views.ts and admin-routes.ts; test/e2e/openapi.test.ts checks real answers against
 * these).
 */
import { ATTEMPT_OUTCOMES, DELIVERY_MODES, DELIVERY_STATES, JOB_STATES, PUSH_MODE } from '../model.js';
import { JOB_ERROR_SCHEMA, STATUS_REPRESENTATION_SCHEMA } from '../resource/representation-schema.js';
import type { JsonSchema } from '../shared/json-schema.js';

const int: JsonSchema = { type: 'integer', minimum: 0 };
const intOrNull: JsonSchema = { type: ['integer', 'null'] };
const date: JsonSchema = { type: 'string', format: 'date-time' };
const textOrNull: JsonSchema = { type: ['string', 'null'] };

/** An object of exactly these properties, all required unless named in `optional`. */
function object(properties: Record<string, JsonSchema>, optional: string[] = [], description?: string): JsonSchema {
  return {
    type: 'object',
    ...(description ? { description } : {}),
    required: Object.keys(properties).filter((p) => !optional.includes(p)),
    additionalProperties: false,
    properties,
  };
}

const countsOf = (states: readonly string[]): JsonSchema => object(Object.fromEntries(states.map((s) => [s, int])));
const orNull = (schema: JsonSchema): JsonSchema => ({ anyOf: [{ type: 'null' }, schema] });
const page = (item: JsonSchema): JsonSchema =>
  object({ items: { type: 'array', items: item }, next: { type: 'string', format: 'uri', description: 'The next page, when there may be more' } }, ['next']);

/** Headers as stored: ordered `[name, value]` pairs, credentials `[redacted]`. */
const HEADER_PAIRS: JsonSchema = { type: 'array', items: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2 } };

const DELIVERY_PROPERTIES: Record<string, JsonSchema> = {
  id: { type: 'string', description: 'Also its webhook-id' },
  jobId: { type: 'string' },
  url: { type: 'string', format: 'uri' },
  method: { type: 'string', enum: ['POST', 'PUT', 'GET'] },
  mode: { type: 'string', enum: [...DELIVERY_MODES, PUSH_MODE] },
  host: { type: 'string' },
  state: { type: 'string', enum: [...DELIVERY_STATES], description: 'failed: a dead letter; gone: the receiver answered 410' },
  attempts: int,
  round: { ...int, description: 'Attempts since the last (re)delivery' },
  nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
  leaseOwner: textOrNull,
  createdAt: date,
  updatedAt: date,
  lastStatus: intOrNull,
  lastError: textOrNull,
  signedWithCallbackSecret: { type: 'boolean', description: 'It had a secret of its own (never shown)' },
};

/** A delivery as the admin API shows it (admin-views.ts deliveryView): never its secret. */
export const DELIVERY_SCHEMA: JsonSchema = object(DELIVERY_PROPERTIES);

/** One attempt at a delivery (admin-views.ts attemptView). */
export const DELIVERY_ATTEMPT_SCHEMA: JsonSchema = object({
  deliveryId: { type: 'string' },
  n: int,
  at: date,
  status: intOrNull,
  latencyMs: { type: 'number', minimum: 0 },
  error: textOrNull,
  snippet: { type: ['string', 'null'], description: "The first bytes of the receiver's reply" },
});

export const DELIVERY_DETAIL_SCHEMA: JsonSchema = object({ ...DELIVERY_PROPERTIES, attempts: { type: 'array', items: DELIVERY_ATTEMPT_SCHEMA } });

const preview = (extra: Record<string, JsonSchema>): JsonSchema =>
  object({
    ...extra,
    headers: HEADER_PAIRS,
    bodySize: int,
    bodyPreview: { type: ['string', 'null'], description: 'The first 4 KiB as text; null for an empty or binary body' },
    bodyTruncated: { type: 'boolean' },
  });

const TIMELINE_ENTRY: JsonSchema = object(
  {
    at: date,
    kind: { type: 'string', enum: ['accepted', 'started', 'attempt-ended', 'progress', 'finished', 'callback-attempt'] },
    detail: { type: 'string' },
    attempt: int,
    outcome: { type: 'string', enum: [...ATTEMPT_OUTCOMES] },
    code: { type: 'string' },
    durationMs: { type: 'number', minimum: 0 },
    status: { type: 'integer' },
    latencyMs: { type: 'number', minimum: 0 },
  },
  ['attempt', 'outcome', 'code', 'durationMs', 'status', 'latencyMs'],
);

/** One job in full (admin-views.ts jobDetail). */
export const JOB_DETAIL_SCHEMA: JsonSchema = object({
  job: STATUS_REPRESENTATION_SCHEMA,
  request: preview({ method: { type: 'string' }, url: { type: 'string' } }),
  response: orNull(preview({ status: { type: 'integer' }, contentType: textOrNull })),
  error: orNull(JOB_ERROR_SCHEMA),
  progress: orNull(object({ current: int, total: int, message: { type: 'string' }, percent: { type: 'number' } }, ['current', 'total', 'message', 'percent'])),
  attempts: int,
  timeline: { type: 'array', items: TIMELINE_ENTRY, description: 'Oldest first' },
  deliveries: { type: 'array', items: DELIVERY_DETAIL_SCHEMA },
});

export const JOB_PAGE_SCHEMA: JsonSchema = page(STATUS_REPRESENTATION_SCHEMA);
export const DELIVERY_PAGE_SCHEMA: JsonSchema = page(DELIVERY_SCHEMA);
/** The answer of an admin cancel or retry. */
export const JOB_WRAPPED_SCHEMA: JsonSchema = object({ job: STATUS_REPRESENTATION_SCHEMA });

export const BULK_RETRY_SCHEMA: JsonSchema = {
  oneOf: [object({ retried: int, cap: int }, [], 'Retried'), object({ matched: int, cap: int }, [], 'dry-run: how many would be (up to cap + 1)')],
};
export const BULK_REDELIVER_SCHEMA: JsonSchema = {
  oneOf: [
    object({ redelivered: int, since: date, cap: int }, [], 'Redelivered'),
    object({ matched: int, since: date, cap: int }, [], 'dry-run: how many would be (up to cap + 1)'),
  ],
};

export const OVERVIEW_SCHEMA: JsonSchema = object({
  jobs: object({ byState: countsOf(JOB_STATES) }),
  perMinute: { type: 'array', minItems: 60, maxItems: 60, items: object({ minute: date, accepted: int, finished: int }), description: 'The last hour, oldest first' },
  oldestQueuedAgeMs: intOrNull,
  running: { ...int, description: "This process's running attempts" },
  concurrency: int,
  deliveries: object({ byState: countsOf(DELIVERY_STATES) }),
  failingHosts: { type: 'array', items: object({ host: { type: 'string' }, failed: int, lastStatus: intOrNull }) },
});

export const HEALTH_SCHEMA: JsonSchema = object({
  status: { type: 'string', enum: ['ok', 'stopping'] },
  running: int,
  queued: int,
  watched: { ...int, description: 'Jobs with a long poll or event stream waiting' },
});

export const LIVE_SCHEMA: JsonSchema = object({ status: { const: 'ok' } });

/** Why a process is not ready: `draining` (SIGTERM), `store-unreachable`, `migrations-pending` (the database
 * is at an older migration than this process runs), `schema-newer` (a newer asyncgate migrated it). */
export const READY_REASONS = ['draining', 'store-unreachable', 'migrations-pending', 'schema-newer'] as const;
export const READY_SCHEMA: JsonSchema = {
  oneOf: [
    object({ status: { const: 'ready' } }),
    object({ status: { const: 'not-ready' }, reason: { type: 'string', enum: [...READY_REASONS] }, detail: { type: 'string' } }),
  ],
};

export const WEBHOOK_KEY_SCHEMA: JsonSchema = object({ algorithm: { const: 'ed25519' }, publicKey: { type: 'string', pattern: '^whpk_' } });
