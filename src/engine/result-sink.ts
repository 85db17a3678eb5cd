import type { JobStore } from '../store/port.js';

/** Bodies up to this size are committed with the completion in one write; larger ones go in pieces. */
export const INLINE_RESULT_LIMIT = 256 * 1024;

export class ResultTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the upstream response is larger than the limit of ${limit} bytes`);
  }
}

/**
 * Collects a response body into the store without holding it whole: small bodies are kept in memory and
 * written with the completion; past INLINE_RESULT_LIMIT every ~256 KiB is appended as a chunk under the
 * attempt's lease token.
 */
export async function sinkResult(
  store: JobStore,
  jobId: string,
  leaseToken: number,
  body: AsyncIterable<Uint8Array> | null,
  maxBytes: number,
): Promise<{ size: number; inline: Uint8Array | undefined; lostLease: boolean }> {
  let buffered: Uint8Array[] = [];
  let bufferedBytes = 0;
  let size = 0;
  let seq = 0;
  if (body) {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > maxBytes) throw new ResultTooLargeError(maxBytes);
      buffered.push(chunk);
      bufferedBytes += chunk.byteLength;
      if (bufferedBytes >= INLINE_RESULT_LIMIT) {
        const ok = await store.appendResultChunk(jobId, leaseToken, seq++, Buffer.concat(buffered));
        if (!ok) return { size, inline: undefined, lostLease: true };
        buffered = [];
        bufferedBytes = 0;
      }
    }
  }
  const rest = buffered.length ? Buffer.concat(buffered) : undefined;
  if (seq === 0) return { size, inline: rest, lostLease: false };
  if (rest && !(await store.appendResultChunk(jobId, leaseToken, seq, rest))) {
    return { size, inline: undefined, lostLease: true };
  }
  return { size, inline: undefined, lostLease: false };
}
