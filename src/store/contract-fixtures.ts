/** What the storage contract's parts share: a job to insert, and reading a body back. A leaf for tests. */
import { randomBytes } from 'node:crypto';
import type { JobError, NewJob } from '../model.js';

export const INTERRUPTED: JobError = { code: 'upstream-interrupted', message: 'interrupted' };

let made = 0;
/**
 * An id in the order the ids are made (as the engine's are, by time; here by a counter too, so that two made
 * in the same millisecond keep their order), a random part, and a last character naming one of the first
 * four shards (shared/shards.ts): a sharded store's contract run spreads its jobs over four shards.
 */
const fixtureId = () =>
  Date.now().toString(36).padStart(9, '0') + (made++ % 36 ** 4).toString(36).padStart(4, '0') + randomBytes(6).toString('base64url') + '0123'.charAt(randomBytes(1)[0]! % 4);

export function newJob(overrides: Partial<NewJob> = {}, options: Partial<NewJob['options']> = {}): NewJob {
  return {
    id: fixtureId(),
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
