/**
 * The push message of a finished job: the `status`-mode summary (status, job id, monitor URL), encrypted for
 * one subscription (RFC 8291, aes128gcm) with the VAPID JWT (RFC 8292) and the TTL and Urgency headers of
 * RFC 8030 §5.2–5.3. web-push seals it; the request itself goes out through the SSRF-guarded agent like any
 * callback (delivery-worker.ts), so the push service's address is judged at connect time too.
 */
import webpush from 'web-push';
import type { Job, PushSubscription } from '../../model.js';
import type { JobUrls } from '../../resource/urls.js';
import type { CallbackRequest } from '../payload.js';
import type { VapidKeys } from './vapid.js';

export interface PushOptions {
  vapid: VapidKeys;
  subject: string;
  /** How long a push service keeps the message for a browser that is offline, seconds (RFC 8030 §5.2). */
  ttlSeconds: number;
}

/** RFC 8291 §4: a push message carries at most 4096 bytes, 3993 of them plaintext with one record. */
const MAX_PLAINTEXT = 3993;

/** The JSON a push message carries: what a service worker needs to show a notification and fetch the rest. */
export function pushSummary(job: Job, urls: JobUrls): Record<string, unknown> {
  const out: Record<string, unknown> = {
    status: job.state === 'succeeded' ? 'completed' : job.state,
    job_id: job.id,
    status_url: urls.self,
  };
  if (job.response) out.response_status = job.response.status;
  if (job.error) out.error = { code: job.error.code, message: job.error.message.slice(0, 500) };
  return out;
}

/** The encrypted request for one subscription. */
export function sealPush(sub: PushSubscription, job: Job, urls: JobUrls, o: PushOptions): CallbackRequest {
  let text = JSON.stringify(pushSummary(job, urls));
  if (Buffer.byteLength(text) > MAX_PLAINTEXT) text = JSON.stringify({ ...pushSummary(job, urls), error: undefined });
  const details = webpush.generateRequestDetails({ endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } }, text, {
    vapidDetails: { subject: o.subject, publicKey: o.vapid.publicKey, privateKey: o.vapid.privateKey },
    TTL: o.ttlSeconds,
    // A job's end is what a user waits for; a failure sooner than a success would not be worth the distinction.
    urgency: 'normal',
    contentEncoding: 'aes128gcm',
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(details.headers)) headers[name.toLowerCase()] = String(value);
  return { method: 'POST', headers, body: Buffer.from(details.body as Buffer) };
}

/** RFC 8030 §7.3: a push service answers 404 or 410 for a subscription that expired or was removed. */
export function subscriptionEnded(status: number | undefined): boolean {
  return status === 404 || status === 410;
}
