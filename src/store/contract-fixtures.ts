/** What the storage contract's parts share: a job to insert, and reading a body back. A leaf for tests. */
import { randomBytes } from 'node:crypto';
import type { JobError, NewJob } from '../model.js';

export const INTERRUPTED: JobError = { code: 'upstream-interrupted', message: 'interrupted' };

export function newJob(overrides: Partial<NewJob> = {}, options: Partial<NewJob['options']> = {}): NewJob {
  return {
    id: randomBytes(16).toString('base64url'),
    dialect: 'prefer',
    owner: null,
    idempotencyKey: null,
    requestHash: 'h',
    request: { method: 'POST', url: '/x', headers: [['content-type', 'text/plain']], body: Buffer.from('hi') },
    options: { timeoutMs: 1000, retryable: false, maxAttempts: 3, retentionMs: 60_000, ...options },
    createdAt: Date.now(),
    ...overrides,
  };
}

export async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}
