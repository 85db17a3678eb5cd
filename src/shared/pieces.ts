/** Bodies up to this size are kept whole (written with their job); larger ones are stored in pieces this big. */
export const PIECE_BYTES = 256 * 1024;

export interface StoredInPieces {
  size: number;
  /** The whole body, when it stayed within PIECE_BYTES (nothing was written); else null. */
  inline: Buffer | null;
  /** `write` refused a piece (e.g. the lease was lost): the rest of the body was not read. */
  stopped: boolean;
}

/**
 * Read a body into storage without holding it whole — results and large uploads alike: small bodies are
 * returned to be written in one piece with their job; past PIECE_BYTES every ~256 KiB is handed to `write`
 * (numbered from 0), and the next is read only once it is written. Throws `tooLarge()` as soon as the size
 * passes `maxBytes`. `onChunk` sees every chunk as it passes (to hash it).
 */
export async function storeInPieces(
  body: AsyncIterable<Uint8Array> | null,
  maxBytes: number,
  tooLarge: () => Error,
  write: (seq: number, piece: Buffer) => Promise<boolean>,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<StoredInPieces> {
  let buffered: Uint8Array[] = [];
  let bufferedBytes = 0;
  let size = 0;
  let seq = 0;
  if (body) {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge();
      onChunk?.(chunk);
      buffered.push(chunk);
      bufferedBytes += chunk.byteLength;
      if (bufferedBytes >= PIECE_BYTES) {
        if (!(await write(seq++, Buffer.concat(buffered, bufferedBytes)))) return { size, inline: null, stopped: true };
        buffered = [];
        bufferedBytes = 0;
      }
    }
  }
  const rest = bufferedBytes ? Buffer.concat(buffered, bufferedBytes) : null;
  if (seq === 0) return { size, inline: rest, stopped: false };
  if (rest && !(await write(seq, rest))) return { size, inline: null, stopped: true };
  return { size, inline: null, stopped: false };
}

/** Every piece of a body, read in order, in one buffer. */
export async function collect(pieces: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of pieces) {
    parts.push(part);
    size += part.byteLength;
  }
  return Buffer.concat(parts, size);
}

/** An attempt's request body in one piece (ExecutionContext.body): as it is when in memory, else read whole. */
export async function wholeBody(body: Uint8Array | AsyncIterable<Uint8Array> | null): Promise<Uint8Array | null> {
  return body === null || body instanceof Uint8Array ? body : collect(body);
}
