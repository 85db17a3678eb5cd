/**
 * The admin API's query parameters, read and checked: every bad one is `400 invalid-query` saying what is
 * wanted. The filters are the same for listing jobs and for retrying them in bulk.
 */
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { DELIVERY_STATES, JOB_ERROR_CODES, JOB_STATES, type DeliveryState, type JobState } from '../model.js';
import { STATUS_NAMES } from '../resource/representation.js';
import type { FieldDoc, JsonSchema } from '../shared/json-schema.js';
import type { DeliveryFilter, JobFilter } from '../store/port.js';

const BY_STATUS = new Map(JOB_STATES.map((s) => [STATUS_NAMES[s].toLowerCase(), s] as const));
/** The longest search accepted (an id is 30 characters, a key up to 255). */
const MAX_SEARCH = 300;
export const DEFAULT_CAP = 100;
export const MAX_CAP = 1000;

const invalid = (detail: string) => new AsyncgateError('invalid-query', detail);

// The parameters as the OpenAPI document describes them, beside the code that reads them.
const param = (description: string, schema: JsonSchema = { type: 'string' }, examples?: Record<string, string>): FieldDoc => ({ description, schema, ...(examples ? { examples } : {}) });
const TIME = 'an ISO date (2026-11-24T12:00:00Z) or epoch ms';

export const PAGE_QUERY: Readonly<Record<string, FieldDoc>> = {
  limit: param('Items per page, 1 to 500 (default 50)', { type: 'integer', minimum: 1, maximum: 500, default: 50 }),
  after: param("The last id of the previous page (follow `next` rather than building it)"),
};
export const CAP_QUERY: Readonly<Record<string, FieldDoc>> = {
  limit: param(`The most this touches, 1 to ${MAX_CAP} (default ${DEFAULT_CAP})`, { type: 'integer', minimum: 1, maximum: MAX_CAP, default: DEFAULT_CAP }),
  'dry-run': param('1 (or true): count what would be touched (up to limit + 1), change nothing', { type: 'string', enum: ['1', 'true', '0', 'false'] }),
};
export const JOB_FILTER_QUERY: Readonly<Record<string, FieldDoc>> = {
  state: param('A status name or a store state, any case', { type: 'string' }, { failed: 'Failed', queued: 'queued' }),
  method: param('The request method'),
  path: param('The start of the request path (begins with /)'),
  since: param(`Created at or after: ${TIME}`),
  until: param(`Created before: ${TIME}`),
  error: param('The job error code', { type: 'string', enum: Object.keys(JOB_ERROR_CODES) }),
  q: param(`A search (at most ${MAX_SEARCH} characters): an exact id or Idempotency-Key, a piece of the URL, words of the bodies`, { type: 'string', maxLength: MAX_SEARCH }),
};
export const DELIVERY_FILTER_QUERY: Readonly<Record<string, FieldDoc>> = {
  state: param('The delivery state, any case', { type: 'string', enum: [...DELIVERY_STATES] }),
  job: param('The job id'),
  host: param('The receiver host (host:port when not the default port)'),
  status: param("The last attempt's HTTP status (500) or a class of them (5xx)", { type: 'string', pattern: '^[1-5]([0-9]{2}|xx)$' }),
  since: param(`Last changed at or after: ${TIME}`),
  until: param(`Last changed before: ${TIME}`),
};

/** `limit` of a page: 1 to 500, default 50. */
export function pageLimit(query: URLSearchParams): number {
  const limit = Number(query.get('limit') ?? '50');
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalid('limit must be 1 to 500');
  return limit;
}

/** `limit` of a bulk action (its cap): 1 to MAX_CAP, default DEFAULT_CAP. */
export function capLimit(query: URLSearchParams): number {
  const cap = Number(query.get('limit') ?? String(DEFAULT_CAP));
  if (!Number.isInteger(cap) || cap < 1 || cap > MAX_CAP) throw invalid(`limit (the most a bulk action touches) must be 1 to ${MAX_CAP}`);
  return cap;
}

/** `dry-run=1` (or `true`): count, change nothing. */
export function dryRun(query: URLSearchParams): boolean {
  const v = query.get('dry-run');
  if (v === null || v === '0' || v === 'false') return false;
  if (v === '' || v === '1' || v === 'true') return true;
  throw invalid('dry-run is 1 (or true) to count without changing anything');
}

/** A time as an ISO date or epoch milliseconds; undefined when the parameter is absent. */
export function timeParam(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw invalid(`${name} "${text}" is not a date: give an ISO date (2026-11-24T12:00:00Z) or epoch ms`);
  return ms;
}

export function jobState(query: URLSearchParams): JobState | undefined {
  const text = query.get('state')?.toLowerCase();
  if (!text) return undefined;
  const state = BY_STATUS.get(text) ?? (JOB_STATES.includes(text as JobState) ? (text as JobState) : undefined);
  if (!state) throw invalid(`state must be one of ${Object.values(STATUS_NAMES).join(', ')} (any case)`);
  return state;
}

/** The job filters: state, method, path, since, until, error, q. */
export function jobFilter(query: URLSearchParams): JobFilter {
  const f: JobFilter = {};
  const state = jobState(query);
  if (state) f.state = state;
  const method = query.get('method');
  if (method) {
    if (!/^[A-Za-z]{1,20}$/.test(method)) throw invalid(`method "${method}" is not an HTTP method`);
    f.method = method.toUpperCase();
  }
  const path = query.get('path');
  if (path) {
    if (!path.startsWith('/')) throw invalid('path is the start of a request path: it begins with /');
    f.pathPrefix = path;
  }
  const since = timeParam(query, 'since');
  if (since !== undefined) f.since = since;
  const until = timeParam(query, 'until');
  if (until !== undefined) f.until = until;
  const error = query.get('error');
  if (error) {
    if (!(error in JOB_ERROR_CODES)) throw invalid(`error must be a job error code: ${Object.keys(JOB_ERROR_CODES).join(', ')}`);
    f.errorCode = error;
  }
  const q = query.get('q')?.trim();
  if (q) {
    if (q.length > MAX_SEARCH) throw invalid(`q is at most ${MAX_SEARCH} characters`);
    f.search = q;
  }
  return f;
}

/** The filter as query parameters again (for `next` links), in the API's own spelling. */
export function jobFilterParams(f: JobFilter): Record<string, string> {
  const out: Record<string, string> = {};
  if (f.state) out.state = f.state;
  if (f.method) out.method = f.method;
  if (f.pathPrefix) out.path = f.pathPrefix;
  if (f.since !== undefined) out.since = new Date(f.since).toISOString();
  if (f.until !== undefined) out.until = new Date(f.until).toISOString();
  if (f.errorCode) out.error = f.errorCode;
  if (f.search) out.q = f.search;
  return out;
}

/** The delivery filters: state, job, host, status (`500` or `5xx`), since, until (updatedAt). */
export function deliveryFilter(query: URLSearchParams): DeliveryFilter {
  const f: DeliveryFilter = {};
  const state = query.get('state')?.toLowerCase();
  if (state) {
    if (!DELIVERY_STATES.includes(state as DeliveryState)) throw invalid(`state must be one of ${DELIVERY_STATES.join(', ')} (any case)`);
    f.state = state as DeliveryState;
  }
  const job = query.get('job');
  if (job) f.jobId = job;
  const host = query.get('host')?.toLowerCase();
  if (host) f.host = host;
  const status = query.get('status')?.toLowerCase();
  if (status) {
    if (/^[1-5]\d\d$/.test(status)) f.status = { min: Number(status), max: Number(status) };
    else if (/^[1-5]xx$/.test(status)) f.status = { min: Number(status[0]) * 100, max: Number(status[0]) * 100 + 99 };
    else throw invalid('status is the last attempt\'s HTTP status (500) or a class of them (5xx)');
  }
  const since = timeParam(query, 'since');
  if (since !== undefined) f.since = since;
  const until = timeParam(query, 'until');
  if (until !== undefined) f.until = until;
  return f;
}

export function deliveryFilterParams(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['state', 'job', 'host', 'status', 'since', 'until']) {
    const v = query.get(name);
    if (v) out[name] = v;
  }
  return out;
}
