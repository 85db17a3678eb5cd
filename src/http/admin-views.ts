/**
 * How the admin API shows what the store keeps: a delivery without its secret, and one job in full (request
 * and response with credentials redacted, previews of both bodies, a timeline, its deliveries).
 */
import type { AttemptOutcome, Delivery, DeliveryAttempt, HeaderPairs, Job, JobHistory, JobProgress } from '../model.js';
import { representation } from '../resource/representation.js';
import type { JobUrls } from '../resource/urls.js';
import type { JobStore } from '../store/port.js';
import { searchableText } from '../store/search-text.js';

/** How much of a body the detail shows. */
export const PREVIEW_BYTES = 4096;
export const REDACTED = '[redacted]';
/** Headers whose values are credentials, never shown (with the configured owner header). */
const SECRET_HEADERS = ['authorization', 'cookie', 'proxy-authorization', 'set-cookie'];

const iso = (ms: number) => new Date(ms).toISOString();

/** A delivery as the admin API shows it: never its secret. */
export function deliveryView(d: Delivery): Record<string, unknown> {
  const { secret, leaseToken: _t, ...rest } = d;
  return {
    ...rest,
    signedWithCallbackSecret: secret !== null,
    nextAttemptAt: d.nextAttemptAt === null ? null : iso(d.nextAttemptAt),
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
}

export function attemptView(a: DeliveryAttempt): Record<string, unknown> {
  return { ...a, at: iso(a.at) };
}

/** `headers` with the values of credentials replaced by "[redacted]". */
export function redact(headers: HeaderPairs, ownerHeader: string | undefined): HeaderPairs {
  const secret = new Set(ownerHeader ? [...SECRET_HEADERS, ownerHeader.toLowerCase()] : SECRET_HEADERS);
  return headers.map(([name, value]) => [name, secret.has(name.toLowerCase()) ? REDACTED : value]);
}

/** The first PREVIEW_BYTES of a body read from `pieces`, stopping as soon as it has them. */
async function firstBytes(pieces: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const piece of pieces) {
    parts.push(piece);
    n += piece.byteLength;
    if (n >= PREVIEW_BYTES) break;
  }
  return Buffer.concat(parts).subarray(0, PREVIEW_BYTES);
}

function preview(bytes: Uint8Array | null, size: number) {
  return { bodySize: size, bodyPreview: searchableText(bytes, PREVIEW_BYTES), bodyTruncated: size > PREVIEW_BYTES };
}

interface TimelineEntry {
  at: number;
  kind: 'accepted' | 'started' | 'attempt-ended' | 'progress' | 'finished' | 'callback-attempt';
  detail: string;
  /** started, attempt-ended: which attempt (1, 2, … over the job's life, retries included). */
  attempt?: number;
  /** attempt-ended: what its end did to the job. */
  outcome?: AttemptOutcome;
  /** attempt-ended: why it did not succeed (a job error code). */
  code?: string;
  durationMs?: number;
  status?: number;
  latencyMs?: number;
}

const progressText = (p: JobProgress) =>
  [p.percent !== undefined ? `${p.percent}%` : '', p.current !== undefined ? `${p.current}${p.total ? `/${p.total}` : ''}` : '', p.message ?? '']
    .filter(Boolean)
    .join(' ');

/**
 * What happened to the job, from what the store keeps: accepted at createdAt; each attempt kept in its
 * history (store/history.ts: the last 20) started and ended, with how, its status or error code and its
 * duration; each progress report kept (the last 10); finished; every callback attempt. A job whose life
 * began before the history was kept shows its latest attempt started at runAt and its last progress instead.
 */
function timeline(job: Job, history: JobHistory, deliveries: Array<{ delivery: Delivery; attempts: DeliveryAttempt[] }>): TimelineEntry[] {
  const out: TimelineEntry[] = [{ at: job.createdAt, kind: 'accepted', detail: `${job.request.method} ${job.request.url}` }];
  for (const a of history.attempts) {
    out.push({ at: a.startedAt, kind: 'started', detail: `attempt ${a.n}`, attempt: a.n });
    if (a.endedAt === undefined || a.outcome === undefined) continue;
    const why = [a.status !== undefined ? `the upstream answered ${a.status}` : '', a.code ?? ''].filter(Boolean).join('; ');
    out.push({
      at: a.endedAt,
      kind: 'attempt-ended',
      detail: `attempt ${a.n} ${a.outcome}${why ? `: ${why}` : ''}`,
      attempt: a.n,
      outcome: a.outcome,
      ...(a.status !== undefined ? { status: a.status } : {}),
      ...(a.code !== undefined ? { code: a.code } : {}),
      durationMs: a.endedAt - a.startedAt,
    });
  }
  if (history.attempts.length === 0 && job.attempts > 0) {
    const earlier = job.attempts > 1 ? ` (${job.attempts - 1} before it)` : '';
    out.push({ at: job.runAt, kind: 'started', detail: `attempt ${job.attempts} of ${job.options.maxAttempts}${earlier}`, attempt: job.attempts });
  }
  for (const { at, ...p } of history.progress) out.push({ at, kind: 'progress', detail: progressText(p) });
  if (history.progress.length === 0 && job.progress) {
    out.push({ at: job.finishedAt ?? job.updatedAt, kind: 'progress', detail: `last progress: ${progressText(job.progress)}` });
  }
  if (job.finishedAt !== null) {
    const why = [job.response ? `the upstream answered ${job.response.status}` : '', job.error ? `${job.error.code}: ${job.error.message}` : ''];
    out.push({
      at: job.finishedAt,
      kind: 'finished',
      detail: `${job.state}${why.some(Boolean) ? `: ${why.filter(Boolean).join('; ')}` : ''}`,
      ...(job.response ? { status: job.response.status } : {}),
    });
  }
  for (const { delivery, attempts } of deliveries) {
    for (const a of attempts) {
      out.push({
        at: a.at,
        kind: 'callback-attempt',
        detail: `${delivery.method} ${delivery.url}: ${a.status ?? a.error ?? 'no answer'}`,
        ...(a.status !== null ? { status: a.status } : {}),
        latencyMs: a.latencyMs,
      });
    }
  }
  // Stable: at the same millisecond, the order above (accepted before started before finished…) holds.
  return out.sort((x, y) => x.at - y.at);
}

/** One job in full, for GET /admin/jobs/:id. */
export async function jobDetail(store: JobStore, job: Job, urls: JobUrls, ownerHeader: string | undefined): Promise<Record<string, unknown>> {
  const size = job.request.bodySize ?? job.request.body?.byteLength ?? 0;
  const requestBytes = job.request.body ?? (size > 0 ? await firstBytes(store.readRequestBody(job.id)) : null);
  const r = job.response;
  const responseBytes = r && r.size > 0 ? await firstBytes(store.readResult(job.id, { start: 0, end: Math.min(r.size, PREVIEW_BYTES) - 1 })) : null;
  const list = await store.listDeliveries({ jobId: job.id, limit: 100 });
  const [history, deliveries] = await Promise.all([
    store.historyOf(job.id),
    Promise.all(list.map(async (delivery) => ({ delivery, attempts: await store.attemptsOf(delivery.id) }))),
  ]);
  return {
    job: representation(job, urls),
    request: { method: job.request.method, url: job.request.url, headers: redact(job.request.headers, ownerHeader), ...preview(requestBytes, size) },
    response: r ? { status: r.status, contentType: r.contentType, headers: redact(r.headers, ownerHeader), ...preview(responseBytes, r.size) } : null,
    error: job.error,
    progress: job.progress,
    attempts: job.attempts,
    timeline: timeline(job, history, deliveries).map((e) => ({ ...e, at: iso(e.at) })),
    deliveries: deliveries.map(({ delivery, attempts }) => ({ ...deliveryView(delivery), attempts: attempts.map(attemptView) })),
  };
}
