import { storeInPieces } from '../shared/pieces.js';
import type { JobStore } from '../store/port.js';

export class ResultTooLargeError extends Error {
  override readonly name = 'ResultTooLargeError';
  readonly code = 'result-too-large';
  constructor(readonly limit: number) {
    super(`the upstream response is larger than the limit of ${limit} bytes`);
  }
}

/**
 * Collects a response body into the store without holding it whole: small bodies are kept in memory and
 * written with the completion; larger ones are appended piece by piece under the attempt's lease token.
 */
export async function sinkResult(
  store: JobStore,
  jobId: string,
  leaseToken: number,
  body: AsyncIterable<Uint8Array> | null,
  maxBytes: number,
): Promise<{ size: number; inline: Uint8Array | undefined; lostLease: boolean }> {
  const { size, inline, stopped } = await storeInPieces(
    body,
    maxBytes,
    () => new ResultTooLargeError(maxBytes),
    (seq, piece) => store.appendResultChunk(jobId, leaseToken, seq, piece),
  );
  return { size, inline: inline ?? undefined, lostLease: stopped };
}
