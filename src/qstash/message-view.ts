import type { Job, JobHistory } from '../model.js';
import { multiHeaders } from '../delivery/qstash-callback.js';

/** QStash's message states, as its logs (`/v2/events`) name them. */
export type MessageState = 'CREATED' | 'ACTIVE' | 'RETRY' | 'ERROR' | 'DELIVERED' | 'FAILED' | 'CANCELED' | 'IN_PROGRESS';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A body as QStash shows it: `body` when it is UTF-8 text, else `bodyBase64`. */
function bodyFields(bytes: Uint8Array | null, name: 'body' | 'responseBody'): Record<string, string> {
  if (!bytes || bytes.byteLength === 0) return {};
  try {
    return { [name]: utf8.decode(bytes) };
  } catch {
    return { [`${name}Base64`]: Buffer.from(bytes).toString('base64') };
  }
}

/** A message as `GET /v2/messages/{id}` answers it (the SDK's `Message`). */
export function messageView(job: Job): Record<string, unknown> {
  const m = job.options.message;
  const out: Record<string, unknown> = {
    messageId: job.id,
    url: m?.destination ?? job.request.url,
    method: job.request.method,
    header: multiHeaders(job.request.headers),
    ...bodyFields(job.request.body, 'body'),
    maxRetries: Math.max(0, job.options.maxAttempts - 1),
    notBefore: m?.notBefore ?? job.createdAt,
    createdAt: job.createdAt,
  };
  if (m?.retryDelay) out.retryDelayExpression = m.retryDelay;
  if (m?.callback) out.callback = m.callback;
  if (m?.failureCallback) out.failureCallback = m.failureCallback;
  if (m?.queue) out.queueName = m.queue;
  if (m?.urlGroup) out.topicName = m.urlGroup;
  if (m?.endpointName) out.endpointName = m.endpointName;
  if (m?.scheduleId) out.scheduleId = m.scheduleId;
  if (m?.callerIp) out.callerIp = m.callerIp;
  if (m?.flowControl) {
    const fc = m.flowControl;
    Object.assign(out, { flowControlKey: fc.key }, fc.parallelism ? { parallelism: fc.parallelism } : {}, fc.rate ? { rate: fc.rate, period: (fc.periodMs ?? 1000) / 1000 } : {});
  }
  if (m?.labels?.length) {
    out.labels = m.labels;
    out.label = m.labels[0];
  }
  return out;
}

/** A dead-lettered message as `GET /v2/dlq` lists it: the message, and the last answer of its destination. */
export function dlqView(job: Job, response: Uint8Array | null): Record<string, unknown> {
  const out = { ...messageView(job), dlqId: job.id };
  if (job.response) {
    Object.assign(out, { responseStatus: job.response.status, responseHeader: multiHeaders(job.response.headers) }, bodyFields(response, 'responseBody'));
  }
  return out;
}

/** The state a message is in now, in QStash's words. */
export function messageState(job: Job): MessageState {
  switch (job.state) {
    case 'queued':
      return job.attempts > 0 ? 'RETRY' : 'CREATED';
    case 'running':
      return 'ACTIVE';
    case 'succeeded':
      return 'DELIVERED';
    case 'failed':
      return 'FAILED';
    case 'canceled':
      return 'CANCELED';
  }
}

/** One entry of a message's log (`/v2/events`). */
export interface LogEntry {
  time: number;
  state: MessageState;
  messageId: string;
  url: string;
  nextDeliveryTime?: number;
  error?: string;
  topicName?: string;
  endpointName?: string;
  labels?: string[];
  label?: string;
}

/**
 * A message's life as QStash's logs tell it, newest first: CREATED when published, ACTIVE at each attempt, ERROR
 * for an attempt that failed (RETRY with the next delivery time when another follows), then DELIVERED, FAILED or
 * CANCELED. Built from the job and its history (the store keeps the last attempts of each job).
 */
export function messageLog(job: Job, history: JobHistory): LogEntry[] {
  const m = job.options.message;
  const base = {
    messageId: job.id,
    url: m?.destination ?? job.request.url,
    ...(m?.urlGroup ? { topicName: m.urlGroup } : {}),
    ...(m?.endpointName ? { endpointName: m.endpointName } : {}),
    ...(m?.labels?.length ? { labels: m.labels, label: m.labels[0] } : {}),
  };
  const out: LogEntry[] = [{ ...base, time: job.createdAt, state: 'CREATED' }];
  for (const a of history.attempts) {
    out.push({ ...base, time: a.startedAt, state: 'ACTIVE' });
    if (a.endedAt === undefined || a.outcome === 'succeeded') continue;
    const error = a.status !== undefined ? `the destination answered ${a.status}` : (a.code ?? 'failed');
    if (a.outcome === 'requeued') out.push({ ...base, time: a.endedAt, state: 'RETRY', error });
    else if (a.outcome === 'failed') out.push({ ...base, time: a.endedAt, state: 'ERROR', error });
  }
  if (job.state === 'queued' && job.attempts > 0) {
    const last = out[out.length - 1]!;
    if (last.state === 'RETRY') last.nextDeliveryTime = job.runAt;
  }
  const end = job.finishedAt ?? job.updatedAt;
  if (job.state === 'succeeded') out.push({ ...base, time: end, state: 'DELIVERED' });
  if (job.state === 'failed') out.push({ ...base, time: end, state: 'FAILED', ...(job.error ? { error: job.error.message } : {}) });
  if (job.state === 'canceled') out.push({ ...base, time: end, state: 'CANCELED' });
  return out.reverse();
}
