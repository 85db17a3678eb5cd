import type { IncomingMessage } from 'node:http';
import { isValidSecret } from '../protocol/standard-webhooks.js';
import type { CallbackPolicy } from '../delivery/ssrf.js';
import { newJobId } from '../engine/ids.js';
import { asProblem } from '../errors/as-problem.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { CallbackSpec, DeliveryMode, Job } from '../model.js';
import { callbackUrl } from '../protocol/callback.js';
import type { JobStore } from '../store/port.js';
import { readBody } from '../intake/body.js';
import { allowed } from '../intake/negotiate.js';

const MODES: DeliveryMode[] = ['response', 'notify', 'status', 'ping'];

/**
 * `POST {prefix}/jobs/{id}/callbacks` with `{"url": "…", "mode": "response", "method": "POST", "secret": "…"}`:
 * deliver this job's result there too. Due at once if the job already finished.
 */
export async function registerCallback(
  req: IncomingMessage,
  job: Job,
  store: JobStore,
  policy: CallbackPolicy,
): Promise<Record<string, unknown>> {
  const raw = await readBody(req, 16 * 1024);
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(raw?.toString('utf8') ?? '') as Record<string, unknown>;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error('not an object');
  } catch {
    throw new AsyncgateError('invalid-callback', 'send a JSON object: {"url": "https://…", "mode": "response|notify|status|ping"}');
  }
  const { url, mode = 'response', method, secret } = input;
  if (typeof url !== 'string') throw new AsyncgateError('invalid-callback', '"url" is required');
  if (typeof mode !== 'string' || !MODES.includes(mode as DeliveryMode)) {
    throw new AsyncgateError('invalid-callback', `"mode" must be one of ${MODES.join(', ')}`);
  }
  const m = mode === 'ping' ? 'GET' : String(method ?? 'POST').toUpperCase();
  if (m !== 'POST' && m !== 'PUT' && m !== 'GET') throw new AsyncgateError('invalid-callback', '"method" must be POST or PUT');
  if (secret !== undefined && (typeof secret !== 'string' || !isValidSecret(secret))) {
    throw new AsyncgateError('invalid-callback', '"secret" must be a non-empty string (raw, or whsec_ + base64)');
  }
  asProblem('invalid-callback', () => callbackUrl(url, 'url'));
  const spec: CallbackSpec = { url: allowed(url, policy, 'url'), method: m, mode: mode as DeliveryMode, secret: (secret as string | undefined) ?? null };
  const delivery = await store.addCallback(job.id, spec, `msg_${newJobId()}`, Date.now());
  if (!delivery) throw new AsyncgateError('job-not-found');
  return { id: delivery.id, url: delivery.url, mode: delivery.mode, method: delivery.method, state: delivery.state };
}
