import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { forwardHeaders } from '../intake/forward-headers.js';
import { handlerRequest, toReply, type AsyncHandler } from './handler.js';
import { requestProto } from '../resource/urls.js';

/**
 * A request that did not ask for an asynchronous answer (and whose route allows that) runs at once, like any
 * route of the app: no job, no monitor. `Vary: Prefer` because a preference would have changed the answer.
 */
export async function runInline(
  req: IncomingMessage,
  res: ServerResponse,
  handler: AsyncHandler,
  input: { url: string; body: Buffer | null; timeoutMs: number },
  log: Logger,
): Promise<void> {
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort(new Error('the client closed the connection'));
  });
  const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(input.timeoutMs)]);
  const proto = requestProto(req);
  const method = req.method ?? 'GET';
  const headers = forwardHeaders(req, proto).filter(([n]) => n !== 'content-length');
  let value;
  try {
    value = await handler({
      jobId: null,
      request: handlerRequest(method, input.url, headers, input.body),
      progress: () => Promise.resolve(),
      signal,
    });
  } catch (error) {
    if (gone.signal.aborted) return;
    log.error({ err: error, url: input.url }, 'handler failed');
    // The error's message may hold private detail: it goes to the log, not to the client.
    throw new AsyncgateError('handler-failed');
  }
  const reply = toReply(value);
  for (const [name, v] of reply.headers) res.appendHeader(name, v);
  res.appendHeader('vary', 'Prefer');
  if (reply.size !== undefined) res.setHeader('content-length', reply.size);
  res.writeHead(reply.status);
  if (!reply.body || method === 'HEAD') return void res.end();
  await pipeline(Readable.from(reply.body), res);
}
