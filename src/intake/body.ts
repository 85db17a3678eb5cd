import type { IncomingMessage } from 'node:http';
import { AsyncgateError } from '../errors/asyncgate-error.js';

/** Read a request body whole, refusing (413, or `refuse()`) as soon as it passes `limit` bytes. null when empty. */
export function readBody(req: IncomingMessage, limit: number, refuse = () => tooLarge(limit)): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(refuse());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      cleanup();
      // The rest is dropped unread, so the connection stays in step for the 413 and its next request (node
      // dumps an unread body by itself, but not one that was partly read). Destroying the request instead
      // would reset the connection before the 413 is sent.
      req.resume();
      reject(refuse());
    };
    const onEnd = () => {
      cleanup();
      resolve(size === 0 ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAborted = () => onError(new Error('the request was aborted'));
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** The 413 of a body over `limit`. It closes the connection: the rest of the body is not read, so the
 * connection cannot carry another request (RFC 9112 §9.6). */
export function tooLarge(limit: number, detail = `the limit is ${limit} bytes`): AsyncgateError {
  return new AsyncgateError('body-too-large', detail, { members: { limit } });
}
