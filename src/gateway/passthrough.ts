import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Agent } from 'undici';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { forwardHeaders, responseHeaderPairs } from '../intake/forward-headers.js';
import { flatHeaders, neverReachedUpstream } from './upstream.js';
import { requestProto } from '../resource/urls.js';

/**
 * A request that asked for no asynchronous answer is proxied synchronously, streamed both ways like any
 * reverse proxy. `vary` is added when a preference could have changed the answer's shape.
 */
export async function passThrough(
  req: IncomingMessage,
  res: ServerResponse,
  agent: Agent,
  upstream: URL,
  basePath: string,
  vary: boolean,
  /** The body, when it was already read; otherwise the request is streamed. */
  preread?: Buffer | null,
): Promise<void> {
  const proto = requestProto(req);
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  const abort = new AbortController();
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
      body: preread !== undefined ? (preread ?? undefined) : hasBody ? req : undefined,
      signal: abort.signal,
    });
  } catch (error) {
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
