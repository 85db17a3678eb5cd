import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_RETRY_SCHEDULE_MS, judgeAttempt, nextDelayMs, parseRetrySchedule } from './schedule.js';

test('the default schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
  assert.deepEqual(parseRetrySchedule('0s,5s,5m,30m,2h,5h,10h,10h'), DEFAULT_RETRY_SCHEDULE_MS);
  assert.throws(() => parseRetrySchedule('0s,soon'), /"soon"/);
  assert.throws(() => parseRetrySchedule('0s,,5s'), /""/);
});

test('verdicts: 2xx delivered, 410 gone, redirects and errors retried, timeout and 429 wait ≥ 60 s', () => {
  assert.deepEqual(judgeAttempt(200, undefined, false), { kind: 'delivered' });
  assert.deepEqual(judgeAttempt(204, undefined, false), { kind: 'delivered' });
  assert.deepEqual(judgeAttempt(410, undefined, false), { kind: 'gone' });
  assert.deepEqual(judgeAttempt(302, undefined, false), { kind: 'retry', minDelayMs: 0 });
  assert.deepEqual(judgeAttempt(500, undefined, false), { kind: 'retry', minDelayMs: 0 });
  assert.deepEqual(judgeAttempt(undefined, undefined, false), { kind: 'retry', minDelayMs: 0 });
  assert.deepEqual(judgeAttempt(undefined, undefined, true), { kind: 'retry', minDelayMs: 60_000 });
  assert.deepEqual(judgeAttempt(429, 120_000, false), { kind: 'retry', minDelayMs: 60_000, retryAfterMs: 120_000 });
  assert.equal((judgeAttempt(503, 10 * 86_400_000, false) as { retryAfterMs: number }).retryAfterMs, 86_400_000);
});

test('next delay: jitter within ±20 %, floors respected, undefined once exhausted', () => {
  const retry = { kind: 'retry' as const, minDelayMs: 0 };
  assert.equal(nextDelayMs(DEFAULT_RETRY_SCHEDULE_MS, 0, retry), 0);
  assert.equal(nextDelayMs(DEFAULT_RETRY_SCHEDULE_MS, 8, retry), undefined);
  assert.equal(nextDelayMs([1000], 0, { kind: 'retry', minDelayMs: 60_000 }), 60_000);
  assert.equal(nextDelayMs([1000], 0, { kind: 'retry', minDelayMs: 0, retryAfterMs: 7_000 }), 7_000);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 7 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (i, r) => {
      const base = DEFAULT_RETRY_SCHEDULE_MS[i]!;
      const d = nextDelayMs(DEFAULT_RETRY_SCHEDULE_MS, i, retry, () => r)!;
      return d >= Math.floor(base * 0.8) && d <= Math.ceil(base * 1.2);
    }),
  );
});
