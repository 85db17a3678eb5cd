import { jobTraceId } from '../engine/job-trace.js';
import type { Job, JobProgress, JobState } from '../model.js';
import type { JobUrls } from './urls.js';

/** Azure long-running-operation status names, so existing pollers understand us. */
export const STATUS_NAMES: Record<JobState, string> = {
  queued: 'NotStarted',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  canceled: 'Canceled',
};

const iso = (ms: number) => new Date(ms).toISOString();

/** The status representation of a job (docs/reference/endpoints.md#status-representation). */
export function representation(job: Job, urls: JobUrls): Record<string, unknown> {
  const out: Record<string, unknown> = { id: job.id, status: STATUS_NAMES[job.state] };
  const percent = percentComplete(job);
  if (percent !== undefined) out.percentComplete = percent;
  const progress = progressView(job);
  if (progress) out.progress = progress;
  out.createdDateTime = iso(job.createdAt);
  out.lastUpdatedDateTime = iso(job.updatedAt);
  if (job.expiresAt !== null) out.expirationDateTime = iso(job.expiresAt);
  out.request = { method: job.request.method, url: job.request.url };
  if (job.response) {
    out.response = { status: job.response.status, contentType: job.response.contentType, size: job.response.size };
  }
  if (job.state === 'succeeded') out.resourceLocation = urls.result;
  if (job.error && (job.state === 'failed' || job.state === 'canceled')) out.error = job.error;
  const traceId = jobTraceId(job);
  if (traceId) out.traceId = traceId;
  out.links = {
    self: { href: urls.self },
    result: { href: urls.result },
    cancel: { href: urls.cancel },
    events: { href: urls.events },
    websocket: { href: urls.websocket },
    callbacks: { href: urls.callbacks },
  };
  return out;
}

/**
 * `progress` as the representation shows it: `current`, `total`, `message` as last reported (the percentage is
 * `percentComplete`, never repeated here). Gone once the job succeeded (`percentComplete` is 100 then, and a
 * last report of 4/5 would contradict it); kept on a failed or canceled job, to show where it stopped.
 */
function progressView(job: Job): Omit<JobProgress, 'percent'> | undefined {
  if (!job.progress || job.state === 'succeeded') return undefined;
  const { percent: _percent, ...rest } = job.progress;
  return Object.keys(rest).length ? rest : undefined;
}

function percentComplete(job: Job): number | undefined {
  if (job.state === 'succeeded') return 100;
  const p = job.progress;
  if (!p) return undefined;
  if (p.percent !== undefined) return clamp(p.percent);
  if (p.current !== undefined && p.total) return clamp((p.current / p.total) * 100);
  return undefined;
}

const clamp = (n: number) => Math.max(0, Math.min(100, Math.round(n)));

/** Strong ETag of a job's representation: it changes exactly when the job does. */
export function jobEtag(job: Job): string {
  return `"${job.version}"`;
}
