import type { IncomingMessage } from 'node:http';
import { tooLarge } from './spool.js';

/** Read a request body whole, refusing (413) as soon as it passes `limit` bytes. null when empty. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return size === 0 ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
