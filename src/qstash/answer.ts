import type { ServerResponse } from 'node:http';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { sendProblem } from '../resource/respond.js';

/** A QStash request that cannot be understood: 400 `invalid-message`, `detail` saying what and how to fix it. */
export const invalidMessage = (detail: string) => new AsyncgateError('invalid-message', detail);

export const messageNotFound = (what = 'message') => new AsyncgateError('message-not-found', `no such ${what}`);

/** Answer a QStash request with JSON (200 unless said). */
export function sendQstashJson(res: ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** An empty 200, as QStash answers the calls the SDK reads no body of (pause, delete…). */
export function sendQstashOk(res: ServerResponse): void {
  res.writeHead(200, { 'content-length': 0, 'cache-control': 'no-store' }).end();
}

/**
 * QStash's error answers are `{"error": "…"}` with the status, which the SDK surfaces as a `QstashError`
 * carrying that text. asyncgate's are RFC 9457 problem documents: the answer is both, a problem with an `error`
 * member.
 */
export function sendQstashProblem(res: ServerResponse, error: unknown, instance?: string): void {
  sendProblem(res, error, instance, (e) => ({ error: e.detail ?? e.message }));
}
