import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Agent } from 'undici';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { forwardHeaders, responseHeaderPairs } from '../intake/forward-headers.js';
import { tooLarge } from '../intake/body.js';
import { flatHeaders, neverReachedUpstream } from './upstream.js';
import { requestProto } from '../resource/urls.js';

/**
 * A request that asked for no asynchronous answer is proxied synchronously, streamed both ways like any
 * reverse proxy. `vary` is added when a preference could have changed the answer's shape. A body over `limit`
 * is refused with 413 before anything is forwarded when Content-Length says so; a streamed one is cut off
 * when it passes the limit (the upstream request aborted), answered 413 if no response has begun.
 */
export async function passThrough(
  req: IncomingMessage,
  res: ServerResponse,
  agent: Agent,
  upstream: URL,
  basePath: string,
  vary: boolean,
  /** The route's `maxBodySize`, else `--max-body`. */
  limit: number,
  /** The body, when it was already read; otherwise the request is streamed. */
  preread?: Buffer | null,
): Promise<void> {
  const proto = requestProto(req);
  const declared = req.headers['content-length'];
  if (preread === undefined && declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const hasBody = declared !== undefined || req.headers['transfer-encoding'] !== undefined;
  const abort = new AbortController();
  let over = false;
  // node holds a declared body to its Content-Length; only a chunked one needs counting on the way.
  const streamed = preread !== undefined || !hasBody ? undefined : declared !== undefined ? req : upTo(req, limit, () => {
    over = true;
    abort.abort();
  });
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  let upstreamRes;
  try {
    upstreamRes = await agent.request({
      origin: upstream.origin,
      path: basePath + (req.url ?? '/'),
      method: (req.method ?? 'GET') as 'GET',
      headers: flatHeaders(
        preread === undefined ? forwardHeaders(req, proto) : forwardHeaders(req, proto).filter(([n]) => n !== 'content-length'),
      ),
      body: preread ?? streamed,
      signal: abort.signal,
    });
  } catch (error) {
    if (over) throw tooLarge(limit);
    if (abort.signal.aborted) return;
    throw new AsyncgateError(
      'upstream-unreachable',
      neverReachedUpstream(error) ? `cannot connect to the upstream: ${(error as Error).message}` : (error as Error).message,
    );
  }
  for (const [name, value] of responseHeaderPairs(upstreamRes.headers)) res.appendHeader(name, value);
  if (vary) res.appendHeader('vary', 'Prefer');
  res.writeHead(upstreamRes.statusCode);
  try {
    await pipeline(upstreamRes.body, res);
  } catch {
    // Client went away or the upstream broke mid-body: the socket is already torn down by pipeline.
  }
}

/** The request body, cut off once it passes `limit` bytes (then `onOver` is called). The request is not
 * destroyed: its rest is dropped unread, so the connection can still carry the 413 and the next request. */
function upTo(req: IncomingMessage, limit: number, onOver: () => void): Transform {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size <= limit) return done(null, chunk);
      req.unpipe(counter);
      req.resume();
      onOver();
      done();
    },
  });
  return req.pipe(counter);
}
