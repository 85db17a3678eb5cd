/**
 * When to try a callback delivery again. Success is any 2xx; redirects are not followed and count
 * as failure; `410 Gone` stops that callback at once; a timeout or `429` waits at least 60 s; `Retry-After` is
 * honoured within bounds. The default schedule is Svix's: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
 * 10 h, each with ±20 % jitter so that many failed deliveries do not retry in lockstep. See docs/callbacks.md.
 */
import { parseDuration } from '../shared/units.js';

export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  0, 5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000, 10 * 3_600_000,
];

const MIN_WAIT_AFTER_THROTTLE_MS = 60_000;
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;
const JITTER = 0.2;

/** "0s,5s,5m,30m,2h" → ms per attempt. Throws an Error naming the bad entry. */
export function parseRetrySchedule(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const out = parts.map((p) => {
    const ms = parseDuration(p);
    if (ms === undefined || p === '') throw new Error(`retry schedule entry "${p}" is not a duration (try "0s,5s,5m,30m")`);
    return ms;
  });
  if (out.length === 0 || out.length > 50) throw new Error('a retry schedule has 1 to 50 entries');
  return out;
}

/** What one attempt's answer means for the delivery. */
export type AttemptVerdict =
  | { kind: 'delivered' }
  | { kind: 'gone' } // 410: the receiver asks us to stop
  | { kind: 'retry'; minDelayMs: number; retryAfterMs?: number };

/** Classify an attempt: an HTTP status (undefined when no answer: network error or timeout). */
export function judgeAttempt(status: number | undefined, retryAfterMs: number | undefined, timedOut: boolean): AttemptVerdict {
  if (status !== undefined && status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'gone' };
  const throttled = timedOut || status === 429;
  return {
    kind: 'retry',
    minDelayMs: throttled ? MIN_WAIT_AFTER_THROTTLE_MS : 0,
    ...(retryAfterMs !== undefined ? { retryAfterMs: Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) } : {}),
  };
}

/**
 * Delay before attempt number `next` (0-based; attempt 0 is the first), or undefined when the schedule is
 * exhausted (dead letter). The scheduled delay gets ±20 % jitter; the verdict's floor and the receiver's
 * Retry-After (bounded) can only lengthen it.
 */
export function nextDelayMs(
  schedule: readonly number[],
  next: number,
  verdict: Extract<AttemptVerdict, { kind: 'retry' }>,
  random: () => number = Math.random,
): number | undefined {
  const base = schedule[next];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * random()));
  return Math.max(jittered, verdict.minDelayMs, verdict.retryAfterMs ?? 0);
}
