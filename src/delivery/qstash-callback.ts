import type { Delivery, Job } from '../model.js';
import type { CallbackRequest } from './payload.js';
import type { UpstashKeys } from './upstash-signature.js';

/**
 * The callbacks of a QStash message (docs/qstash.md#callbacks): `qstash-callback` once it finished (delivered, or
 * failed after its last retry), `qstash-failure-callback` only when it failed. The body is QStash's: the
 * destination's answer (`status`, `header`, `body` in base64), how often it was retried, and the message itself
 * (`sourceMessageId`, `url`, `method`, `sourceHeader`, `sourceBody`…). Signed with `Upstash-Signature` for the
 * callback's URL. null: the callback does not apply (a failure callback of a message that did not fail, or
 * either of a canceled message).
 */
export async function qstashCallback(d: Delivery, job: Job, result: Buffer | null, keys: UpstashKeys): Promise<CallbackRequest | null> {
  if (job.state === 'canceled') return null;
  if (d.mode === 'qstash-failure-callback' && job.state !== 'failed') return null;
  const message = job.options.message;
  const payload: Record<string, unknown> = {
    status: job.response?.status ?? 0,
    header: job.response ? multiHeaders(job.response.headers) : {},
    body: (result ?? Buffer.alloc(0)).toString('base64'),
    retried: Math.max(0, job.attempts - 1),
    maxRetries: Math.max(0, job.options.maxAttempts - 1),
    sourceMessageId: job.id,
    url: message?.destination ?? job.request.url,
    method: job.request.method,
    sourceHeader: multiHeaders(job.request.headers),
    sourceBody: Buffer.from(job.request.body ?? new Uint8Array(0)).toString('base64'),
    notBefore: message?.notBefore ?? job.createdAt,
    createdAt: job.createdAt,
  };
  if (job.error && job.state === 'failed') payload.error = job.error.message;
  if (d.mode === 'qstash-failure-callback') payload.dlqId = job.id;
  if (message?.urlGroup) payload.topicName = message.urlGroup;
  if (message?.endpointName) payload.endpointName = message.endpointName;
  if (message?.scheduleId) payload.scheduleId = message.scheduleId;
  if (message?.callerIp) payload.callerIP = message.callerIp;
  const body = Buffer.from(JSON.stringify(payload));
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Upstash-QStash',
      'upstash-message-id': job.id,
      'upstash-signature': await keys.sign(job.owner, d.url, body),
    },
    body,
  };
}

/** Header pairs as QStash shows them: each name to the list of its values. */
export function multiHeaders(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of pairs) (out[canonical(name)] ??= []).push(value);
  return out;
}

/** `content-type` → `Content-Type`, as Go's net/http (QStash's) shows header names. */
const canonical = (name: string) => name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
