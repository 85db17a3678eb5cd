import type { ServerResponse } from 'node:http';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { StorageFullError } from '../store/errors.js';

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

/** Seconds a client is asked to wait before trying again when the store is full (space is freed by an operator
 * or by the sweeper, not in a moment). */
export const STORAGE_FULL_RETRY_AFTER = '30';

/** The 507 of a store out of space: nothing of this request was stored, and it may be sent again later. */
export function storageFull(detail = 'the job store is out of space: nothing was accepted'): AsyncgateError {
  return new AsyncgateError('storage-full', detail, { headers: { 'retry-after': STORAGE_FULL_RETRY_AFTER } });
}

/** Answer with an RFC 9457 problem document: a store out of space is 507 (a body spooled into a full disk, say),
 * other unknown errors a generic 500 (details logged, not sent). `more` adds members of a dialect's own (the
 * QStash API's `error`). */
export function sendProblem(res: ServerResponse, error: unknown, instance?: string, more?: (e: AsyncgateError) => Record<string, unknown>): void {
  const e =
    error instanceof AsyncgateError ? error : error instanceof StorageFullError ? storageFull() : new AsyncgateError('internal');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({ ...more?.(e), ...e.toProblem(instance) });
  res.writeHead(e.status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...e.extra.headers,
  });
  res.end(text);
}
