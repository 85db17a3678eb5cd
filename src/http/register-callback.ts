import type { CallbackPolicy } from '../delivery/ssrf.js';
import { newDeliveryId } from '../engine/ids.js';
import { CallbackLimitError } from '../store/errors.js';
import { asProblem } from '../errors/as-problem.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { readBody } from '../intake/body.js';
import { allowed } from '../intake/negotiate.js';
import { DELIVERY_MODES, DELIVERY_STATES, type CallbackMode, type CallbackSpec } from '../model.js';
import { callbackUrl } from '../protocol/callback.js';
import { isValidSecret } from '../protocol/standard-webhooks.js';
import { sendJson } from '../resource/respond.js';
import type { JsonSchema } from '../shared/json-schema.js';
import type { JobStore } from '../store/port.js';
import { JOB_ID } from './openapi-components.js';
import type { PrefixRoute } from './route-table.js';

export interface RegisterCallbackOptions {
  store: JobStore;
  policy: CallbackPolicy;
  /** Callbacks a job may have in all, those it was submitted with included (`--max-callbacks`). */
  maxPerJob: number;
  /** Called once a callback is stored: a finished job's is due at once. */
  onRegistered: () => void;
}

/**
 * `POST {prefix}/jobs/{id}/callbacks` with `{"url": "…", "mode": "response", "method": "POST", "secret": "…"}`:
 * deliver this job's result there too (the progress-resource pattern's "webhook registration link"). Due at
 * once if the job already finished.
 */
export function registerCallbackRoute(options: RegisterCallbackOptions): PrefixRoute {
  // Registrations for one job run one after another in this process, so parallel ones cannot all pass the count.
  const queues = new Map<string, Promise<unknown>>();
  const oneAtATime = <T>(jobId: string, fn: () => Promise<T>): Promise<T> => {
    const run = (queues.get(jobId) ?? Promise.resolve()).then(fn, fn);
    const settled = run.catch(() => {});
    queues.set(jobId, settled);
    void settled.then(() => {
      if (queues.get(jobId) === settled) queues.delete(jobId);
    });
    return run;
  };
  return {
    methods: ['POST'],
    path: '/jobs/:id/callbacks',
    access: 'owner',
    summary: 'Register a callback for a job, also after it finished',
    params: { id: JOB_ID },
    body: { mediaType: 'application/json', schema: REGISTRATION_SCHEMA, example: { url: 'https://client.example/done', mode: 'notify' } },
    responses: { 201: { description: 'Registered: delivered when the job finishes, at once if it has', content: { 'application/json': REGISTERED_SCHEMA } } },
    problems: ['invalid-callback', 'callback-refused', 'too-many-callbacks', 'body-too-large'],
    async handle({ req, res, job }) {
      const spec = parseCallback(await readBody(req, 16 * 1024), options.policy);
      const delivery = await oneAtATime(job.id, async () => {
        const existing = await options.store.listDeliveries({ jobId: job.id, limit: options.maxPerJob });
        if (existing.length >= options.maxPerJob) {
          throw new AsyncgateError('too-many-callbacks', `this job already has ${existing.length} callbacks, the most a job may have`, {
            members: { maxCallbacks: options.maxPerJob },
          });
        }
        return options.store.addCallback(job.id, spec, newDeliveryId(job.id), Date.now(), options.maxPerJob);
      }).catch((error: unknown) => {
        // Another process registered the last one meanwhile (the store counted in its transaction).
        if (error instanceof CallbackLimitError) throw new AsyncgateError('too-many-callbacks', error.message, { members: { maxCallbacks: options.maxPerJob } });
        throw error;
      });
      if (!delivery) throw new AsyncgateError('job-not-found');
      options.onRegistered();
      sendJson(res, 201, { id: delivery.id, url: delivery.url, mode: delivery.mode, method: delivery.method, state: delivery.state }, { 'cache-control': 'no-store' });
    },
  };
}

const REGISTRATION_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['url'],
  properties: {
    url: { type: 'string', format: 'uri', description: 'An absolute http(s) URL the SSRF guard allows' },
    mode: { type: 'string', enum: [...DELIVERY_MODES], default: 'response', description: 'What to send (docs/callbacks.md#what-each-mode-sends)' },
    method: { type: 'string', enum: ['POST', 'PUT'], default: 'POST', description: 'GET for ping, whatever is given' },
    secret: { type: 'string', minLength: 1, description: 'Adds a second v1 signature keyed by it (raw, or whsec_ + base64)' },
  },
};

const REGISTERED_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['id', 'url', 'mode', 'method', 'state'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', description: 'The delivery id, also its webhook-id' },
    url: { type: 'string', format: 'uri' },
    mode: { type: 'string', enum: [...DELIVERY_MODES] },
    method: { type: 'string', enum: ['POST', 'PUT', 'GET'] },
    state: { type: 'string', enum: [...DELIVERY_STATES] },
  },
};

function parseCallback(raw: Buffer | null, policy: CallbackPolicy): CallbackSpec {
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(raw?.toString('utf8') ?? '') as Record<string, unknown>;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error('not an object');
  } catch {
    throw new AsyncgateError('invalid-callback', `send a JSON object: {"url": "https://…", "mode": "${DELIVERY_MODES.join('|')}"}`);
  }
  const { url, mode = 'response', method, secret } = input;
  if (typeof url !== 'string') throw new AsyncgateError('invalid-callback', '"url" is required');
  if (typeof mode !== 'string' || !DELIVERY_MODES.includes(mode as CallbackMode)) {
    throw new AsyncgateError('invalid-callback', `"mode" must be one of ${DELIVERY_MODES.join(', ')}`);
  }
  const m = mode === 'ping' ? 'GET' : String(method ?? 'POST').toUpperCase();
  if (m !== 'POST' && m !== 'PUT' && m !== 'GET') throw new AsyncgateError('invalid-callback', '"method" must be POST or PUT');
  if (secret !== undefined && (typeof secret !== 'string' || !isValidSecret(secret))) {
    throw new AsyncgateError('invalid-callback', '"secret" must be a non-empty string (raw, or whsec_ + base64)');
  }
  asProblem('invalid-callback', () => callbackUrl(url, 'url'));
  return { url: allowed(url, policy, 'url'), method: m, mode: mode as CallbackMode, secret: (secret as string | undefined) ?? null };
}
