import type { Engine } from '../engine/engine.js';
import { multiHeaders } from '../delivery/qstash-callback.js';
import type { ScheduleRecord } from '../store/port.js';
import { DEFAULT_RETRIES, forwardedOf } from './publish.js';

/** A schedule as `GET /v2/schedules/{id}` answers it (the SDK's `Schedule`), with the states of its last fire's
 * messages (IN_PROGRESS, SUCCESS, FAIL). */
export async function scheduleView(s: ScheduleRecord, engine: Pick<Engine, 'getJob'>): Promise<Record<string, unknown>> {
  const h = s.headers;
  const out: Record<string, unknown> = {
    scheduleId: s.id,
    cron: s.cron,
    createdAt: s.createdAt,
    destination: s.destination,
    method: (h['upstash-method'] ?? 'POST').toUpperCase(),
    header: multiHeaders(forwardedOf(h)),
    retries: h['upstash-retries'] === undefined ? DEFAULT_RETRIES : Number(h['upstash-retries']),
    isPaused: s.paused,
  };
  if (s.body && s.body.byteLength > 0) out.body = Buffer.from(s.body).toString('utf8');
  if (h['upstash-delay']) out.delay = h['upstash-delay'];
  if (h['upstash-callback']) out.callback = h['upstash-callback'];
  if (h['upstash-failure-callback']) out.failureCallback = h['upstash-failure-callback'];
  if (h['upstash-queue-name']) out.queueName = h['upstash-queue-name'];
  if (h['upstash-retry-delay']) out.retryDelayExpression = h['upstash-retry-delay'];
  if (h['upstash-flow-control-key']) out.flowControlKey = h['upstash-flow-control-key'];
  if (h['upstash-label']) {
    out.labels = h['upstash-label'].split(',').map((l) => l.trim());
    out.label = (out.labels as string[])[0];
  }
  if (!s.paused) out.nextScheduleTime = s.nextAt;
  if (s.lastAt !== null) {
    out.lastScheduleTime = s.lastAt;
    const states: Record<string, string> = {};
    for (const id of s.lastMessageIds) {
      const job = await engine.getJob(id);
      states[id] = !job || job.state === 'queued' || job.state === 'running' ? 'IN_PROGRESS' : job.state === 'succeeded' ? 'SUCCESS' : 'FAIL';
    }
    out.lastScheduleStates = states;
  }
  return out;
}
