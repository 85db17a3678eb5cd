import type { JsonSchema } from '../shared/json-schema.js';
import { PROBLEM_TYPES, PROBLEM_TYPE_PREFIX } from './codes.js';

/**
 * An asyncgate problem document (RFC 9457) as a JSON Schema: `type`, `title` and `status` always, `detail` when
 * there is more to say, and extension members (RFC 9457 §3.2) some types add (`job`, `delivery`, `size`,
 * `maxCallbacks`, `acceptedPreferences`).
 */
export const PROBLEM_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'Problem Details (RFC 9457). `type` is urn:asyncgate:problem:<slug>, one of docs/reference/errors.md.',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', enum: Object.keys(PROBLEM_TYPES).map((slug) => PROBLEM_TYPE_PREFIX + slug) },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    instance: { type: 'string' },
  },
  additionalProperties: true,
};
