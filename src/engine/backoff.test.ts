import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryDelayMs } from './backoff.js';

test('equal jitter: each delay lies in [base/2, base], the base doubling from 0.5 s up to the cap', () => {
  for (const [attempt, base] of [[1, 500], [2, 1000], [3, 2000], [7, 30_000], [30, 30_000]] as const) {
    assert.equal(retryDelayMs(attempt, 30_000, () => 0), base / 2);
    assert.equal(retryDelayMs(attempt, 30_000, () => 1), base);
  }
  assert.equal(retryDelayMs(3, 1_500, () => 0.5), 1_125);
});
