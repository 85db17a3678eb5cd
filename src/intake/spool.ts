import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PIECE_BYTES, storeInPieces } from '../shared/pieces.js';
import type { JobStore } from '../store/port.js';
import { readBody, tooLarge } from './body.js';

export interface SpooledBody {
  /** The body when small enough to keep with the job (null when empty or stored in pieces). */
  inline: Buffer | null;
  size: number;
  /** sha256 of method, URL and body, computed as the body streams past (same as `sha256(method, url, body)`). */
  requestHash: string;
}

/**
 * Read a request body into the store for job `jobId` without holding it whole: past PIECE_BYTES every
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
  if (req.headers['content-length'] !== undefined && declared <= PIECE_BYTES) {
    // Small and sized (the usual API request): read it whole, without an async iterator over the stream.
    const whole = await readBody(req, limit);
    return { inline: whole, size: whole?.length ?? 0, requestHash: hash.update(whole ?? '').update('\0').digest('hex') };
  }
  const { inline, size } = await storeInPieces(
    req,
    limit,
    () => tooLarge(limit),
    async (seq, piece) => {
      await store.appendRequestChunk(jobId, seq, piece, Date.now());
      return true;
    },
    (chunk) => hash.update(chunk),
  );
  return { inline, size, requestHash: hash.update('\0').digest('hex') };
}
