import type { ServerResponse } from 'node:http';
import { AsyncgateError } from '../errors/asyncgate-error.js';

export type Headers = Record<string, string | number | string[]>;

/** Send a JSON body with an exact Content-Length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}, head = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(head ? undefined : text);
}

/** Answer with an RFC 9457 problem document; unknown errors become a generic 500 (details logged, not sent). */
export function sendProblem(res: ServerResponse, error: unknown, instance?: string): void {
  const e = error instanceof AsyncgateError ? error : new AsyncgateError('internal');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(e.toProblem(instance));
  res.writeHead(e.status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...e.extra.headers,
  });
  res.end(text);
}
