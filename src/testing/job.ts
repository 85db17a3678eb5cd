/** A stored job for unit tests of what reads one (representation, problems, payloads). Test-only: not built. */
import type { Job } from '../model.js';

export function storedJob(fields: Partial<Job> = {}): Job {
  const now = Date.now();
  return {
    id: 'job-1', state: 'running', dialect: 'prefer', owner: null, idempotencyKey: null, requestHash: 'h',
    request: { method: 'GET', url: '/x', headers: [], body: null },
    options: { timeoutMs: 1000, retryable: true, maxAttempts: 1, retentionMs: 60_000 },
    attempts: 1, leaseOwner: null, leaseToken: 1, leaseExpiresAt: null, runAt: now, createdAt: now, updatedAt: now,
    finishedAt: null, expiresAt: null, version: 2, progress: null, response: null, error: null,
    ...fields,
  };
}
