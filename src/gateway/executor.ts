import { Readable } from 'node:stream';
import type { Agent } from 'undici';
import { AbortReason, InterruptedStreamError, type Executor, type Outcome } from '../engine/executor.js';
import { JOB_ERROR_CODES } from '../errors/codes.js';
import { parseRetryAfter } from '../protocol/retry-after.js';
import { responseHeaderPairs } from './forward-headers.js';
import { flatHeaders, neverReachedUpstream } from './upstream.js';

/** Upstream statuses that mean "try again" (SPEC §3.1) — only acted on when the request is safe to repeat. */
const RETRY_STATUSES = new Set([502, 503, 504]);
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * The gateway's executor: sends a job's stored request to the upstream and hands back its response
 * (streamed). The upstream also learns the job id, so it can log or report progress against it.
 */
export function upstreamExecutor(agent: Agent, upstream: URL): Executor {
  const origin = upstream.origin;
  const basePath = upstream.pathname.replace(/\/+$/, '');
  return async ({ job, signal, body: requestBody }): Promise<Outcome> => {
    const headers = flatHeaders(job.request.headers);
    headers.push('asyncgate-job-id', job.id);
    const body = requestBody();
    // A body streamed from the store has a known size: send it with Content-Length, not chunked.
    if (body && !(body instanceof Uint8Array)) headers.push('content-length', String(job.request.bodySize));
    let res;
    try {
      res = await agent.request({
        origin,
        path: basePath + job.request.url,
        method: job.request.method as 'GET',
        headers,
        body: body === null ? undefined : body instanceof Uint8Array ? body : Readable.from(body),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason instanceof AbortReason ? signal.reason : error;
      const message = `${JOB_ERROR_CODES.UpstreamUnreachable}: ${(error as Error).message}`;
      if (neverReachedUpstream(error)) return { kind: 'retry', sent: false, error: { code: 'UpstreamUnreachable', message } };
      // The request may have reached the upstream: only a retryable job may be sent again.
      return job.options.retryable
        ? { kind: 'retry', sent: true, error: { code: 'UpstreamUnreachable', message } }
        : { kind: 'fail', error: { code: 'UpstreamInterrupted', message: `${JOB_ERROR_CODES.UpstreamInterrupted} (${(error as Error).message})` } };
    }
    const outcome: Outcome = {
      kind: 'response',
      status: res.statusCode,
      headers: responseHeaderPairs(res.headers),
      body: guardBody(res.body),
    };
    if (RETRY_STATUSES.has(res.statusCode)) {
      // 0 = no usable Retry-After: the engine's backoff decides.
      outcome.retryAfterMs = Math.min(MAX_RETRY_AFTER_MS, parseRetryAfter(header(res.headers['retry-after'])) ?? 0);
    }
    return outcome;
  };
}

async function* guardBody(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    throw new InterruptedStreamError((error as Error).message, { cause: error });
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
