/**
 * The status representation (representation.ts) as a JSON Schema: the one description of the monitor's JSON,
 * used by the OpenAPI document (the monitor, the 202, the admin lists, `notify` callbacks) and checked against
 * real representations in representation-schema.test.ts.
 */
import { JOB_ERROR_CODES } from '../model.js';
import type { JsonSchema } from '../shared/json-schema.js';
import { STATUS_NAMES } from './representation.js';

const dateTime = (description: string): JsonSchema => ({ type: 'string', format: 'date-time', description });
const link = (description: string): JsonSchema => ({
  type: 'object',
  description,
  required: ['href'],
  additionalProperties: false,
  properties: { href: { type: 'string', format: 'uri' } },
});

/** `error` of a Failed or Canceled job: a job error code (API) and what happened. */
export const JOB_ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'Why the job failed or was canceled (docs/reference/errors.md#job-error-codes)',
  required: ['code', 'message'],
  additionalProperties: false,
  properties: {
    code: { type: 'string', enum: Object.keys(JOB_ERROR_CODES) },
    message: { type: 'string' },
  },
};

/** A progress report as a job keeps it: every field optional, none repeated as a percentage. */
const PROGRESS_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'What the upstream last reported (gone once the job succeeded)',
  additionalProperties: false,
  properties: {
    current: { type: 'integer', minimum: 0 },
    total: { type: 'integer', minimum: 0 },
    message: { type: 'string' },
  },
};

export const STATUS_REPRESENTATION_SCHEMA: JsonSchema = {
  type: 'object',
  description: "A job's status, with Azure long-running-operation field names (docs/reference/endpoints.md#status-representation)",
  required: ['id', 'status', 'createdDateTime', 'lastUpdatedDateTime', 'request', 'links'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9_~-]{30}$', description: 'The job id: 30 URL-safe characters' },
    status: { type: 'string', enum: Object.values(STATUS_NAMES) },
    percentComplete: { type: 'integer', minimum: 0, maximum: 100 },
    progress: PROGRESS_SCHEMA,
    createdDateTime: dateTime('When the job was accepted'),
    lastUpdatedDateTime: dateTime('When the job last changed'),
    expirationDateTime: dateTime('When the finished job and its result will be purged'),
    request: {
      type: 'object',
      required: ['method', 'url'],
      additionalProperties: false,
      properties: { method: { type: 'string' }, url: { type: 'string', description: 'Path and query, as the client sent them' } },
    },
    response: {
      type: 'object',
      description: "The upstream's response, once it answered (its body is at the result URL)",
      required: ['status', 'contentType', 'size'],
      additionalProperties: false,
      properties: {
        status: { type: 'integer', minimum: 100, maximum: 599 },
        contentType: { type: ['string', 'null'] },
        size: { type: 'integer', minimum: 0 },
      },
    },
    resourceLocation: { type: 'string', format: 'uri', description: 'The result URL, once the job succeeded' },
    error: JOB_ERROR_SCHEMA,
    traceId: { type: 'string', pattern: '^[0-9a-f]{32}$', description: "The W3C trace id of the job's trace (docs/operations/tracing.md)" },
    links: {
      type: 'object',
      required: ['self', 'result', 'cancel', 'events', 'websocket', 'callbacks'],
      additionalProperties: false,
      properties: {
        self: link('The monitor'),
        result: link('The result'),
        cancel: link('POST here to cancel'),
        events: link('The event stream'),
        websocket: link('The same changes over a WebSocket (ws:// or wss://)'),
        callbacks: link('POST here to register a callback'),
      },
    },
    resource_url: { type: 'string', format: 'uri', description: "Only in the 202 answer to a request that named a callback_url in its body (Lyst's convention): the monitor" },
  },
};
