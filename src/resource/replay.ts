import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Job } from '../model.js';
import { formatContentRange, type ByteRange } from '../protocol/range.js';
import type { Headers } from './respond.js';

/**
 * Replay a stored response: its status, headers and body, streamed from the store. With `range`
 * (RFC 9110 §14), only those bytes, as `206 Partial Content` — the body iterable must already be cut to it.
 */
export async function replayResult(
  res: ServerResponse,
  job: Job,
  body: AsyncIterable<Uint8Array>,
  head: boolean,
  now: number,
  extra: Headers = {},
  range?: ByteRange,
): Promise<void> {
  const response = job.response!;
  for (const [name, value] of response.headers) res.appendHeader(name, value);
  if (range) {
    res.setHeader('content-range', formatContentRange(range, response.size));
    res.setHeader('content-length', range.end - range.start + 1);
  } else res.setHeader('content-length', response.size);
  res.setHeader('expires', httpDate(job.expiresAt ?? now));
  res.setHeader('cache-control', `private, max-age=${maxAge(job, now)}`);
  for (const [name, value] of Object.entries(extra)) res.setHeader(name, value);
  res.writeHead(range ? 206 : response.status);
  if (head || response.size === 0) {
    res.end();
    return;
  }
  await pipeline(Readable.from(body), res);
}

/** Seconds until the job expires: the `max-age` of anything cached about it. */
export function maxAge(job: Job, now: number): number {
  return Math.max(0, Math.floor(((job.expiresAt ?? now) - now) / 1000));
}

export const httpDate = (ms: number) => new Date(ms).toUTCString();
