import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { JobStore } from '../store/port.js';

/** Bodies up to this size are kept with the job in one write; larger ones are stored in pieces as they arrive. */
export const INLINE_BODY_LIMIT = 256 * 1024;

export interface SpooledBody {
  /** The body when small enough to keep with the job (null when empty or stored in pieces). */
  inline: Buffer | null;
  size: number;
  /** sha256 of method, URL and body, computed as the body streams past (same as `sha256(method, url, body)`). */
  requestHash: string;
}

/**
 * Read a request body into the store for job `jobId` without holding it whole: past INLINE_BODY_LIMIT every
 * ~256 KiB goes to the store as a piece (with backpressure: the next piece is read when the last is written).
 * Refuses with 413 as soon as the body passes `limit`. Pieces of a body refused half-way are swept later.
 */
export async function spoolBody(
  req: IncomingMessage,
  store: JobStore,
  jobId: string,
  limit: number,
  method: string,
  url: string,
): Promise<SpooledBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const hash = createHash('sha256').update(method).update('\0').update(url).update('\0');
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let size = 0;
  let seq = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    hash.update(chunk);
    buffered.push(chunk);
    bufferedBytes += chunk.length;
    if (bufferedBytes >= INLINE_BODY_LIMIT) {
      await store.appendRequestChunk(jobId, seq++, Buffer.concat(buffered, bufferedBytes), Date.now());
      buffered = [];
      bufferedBytes = 0;
    }
  }
  const requestHash = hash.update('\0').digest('hex');
  const rest = bufferedBytes ? Buffer.concat(buffered, bufferedBytes) : null;
  if (seq === 0) return { inline: rest, size, requestHash };
  if (rest) await store.appendRequestChunk(jobId, seq, rest, Date.now());
  return { inline: null, size, requestHash };
}

export function tooLarge(limit: number): AsyncgateError {
  return new AsyncgateError('body-too-large', `the limit is ${limit} bytes`, { members: { limit } });
}
