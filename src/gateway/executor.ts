import { Readable } from 'node:stream';
import type { Agent } from 'undici';
import { AbortReason, type ExecutionContext, type Executor, type Outcome } from '../engine/executor.js';
import { SpanKind, endSpan, endSpanWithBody, errorType, outgoingTraceparent, startExecutionSpan } from '../engine/job-trace.js';
import { JOB_ERROR_CODES, type Job, type JobProgress, type TraceExecution } from '../model.js';
import { parseProgress } from '../protocol/progress.js';
import { parseRetryAfter } from '../protocol/retry-after.js';
import { responseHeaderPairs } from '../intake/forward-headers.js';
import { PROGRESS_TOKEN_HEADER, PROGRESS_URL_HEADER } from '../resource/progress-token.js';
import { follow, followAccepted, namesMonitor, type FollowContext } from './follow-upstream.js';
import { callUpstream } from './upstream-call.js';
import { flatHeaders, neverReachedUpstream } from './upstream.js';

/** Where and with what token the upstream may report a job's progress. */
export type ProgressEndpoint = (job: Job) => { url: string; token: string };

/** Headers only the gateway sets: a client's copies are dropped, so the upstream cannot be misled. */
const OWN_HEADERS = new Set(['asyncgate-job-id', PROGRESS_URL_HEADER, PROGRESS_TOKEN_HEADER]);
/** The client's trace context, replaced by the attempt's when the job kept its trace. */
const TRACE_HEADERS = new Set(['traceparent', 'tracestate']);

/** Upstream statuses that mean "try again" — only acted on when the request is safe to repeat. */
const RETRY_STATUSES = new Set([502, 503, 504]);
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * The gateway's executor: sends a job's stored request to the upstream and hands back its response
 * (streamed). The upstream also learns the job id and where to report progress (with the job's token); it
 * may instead send `102 Processing` interim responses with a `Progress` header, which are recorded too.
 * Each attempt carries a traceparent of the job's trace (`tracing` says how its span relates to the accept span).
 */
export function upstreamExecutor(agent: Agent, upstream: URL, progressEndpoint?: ProgressEndpoint, tracing: TraceExecution = 'link'): Executor {
  const origin = upstream.origin;
  const basePath = upstream.pathname.replace(/\/+$/, '');
  const port = Number(upstream.port) || (upstream.protocol === 'https:' ? 443 : 80);
  return async ({ job, signal, progress, body: requestBody, keepUpstreamMonitor }): Promise<Outcome> => {
    const traced = job.options.trace;
    const headers = flatHeaders(job.request.headers.filter(([name]) => !OWN_HEADERS.has(name) && !(traced && TRACE_HEADERS.has(name))));
    headers.push('asyncgate-job-id', job.id);
    const span = startExecutionSpan(job, tracing, 'asyncgate upstream', SpanKind.CLIENT);
    if (traced) {
      headers.push('traceparent', outgoingTraceparent(job, tracing, span)!);
      if (traced.tracestate) headers.push('tracestate', traced.tracestate);
    }
    const path = basePath + job.request.url;
    if (span?.isRecording()) {
      span.setAttributes({
        'http.request.method': job.request.method,
        'url.full': origin + path,
        'server.address': upstream.hostname,
        'server.port': port,
        'asyncgate.job.id': job.id,
        'asyncgate.attempt': job.attempts,
      });
    }
    if (progressEndpoint) {
      const { url, token } = progressEndpoint(job);
      headers.push(PROGRESS_URL_HEADER, url, PROGRESS_TOKEN_HEADER, token);
    }
    const report = latestOnly(progress);
    const following = (): FollowContext => ({ agent, origin, job, url: origin + path, signal, headers, report, keep: keepUpstreamMonitor });
    // A rescued job whose upstream operation was already named: poll it, never send the request again.
    if (job.options.upstreamMonitor) {
      endSpan(span, {});
      return follow(following(), job.options.upstreamMonitor, 0);
    }
    const body = requestBody();
    // A body streamed from the store has a known size: send it with Content-Length, not chunked.
    if (body && !(body instanceof Uint8Array)) headers.push('content-length', String(job.request.bodySize));
    let res;
    const sentAt = Date.now();
    try {
      res = await callUpstream(
        agent,
        {
          origin,
          path,
          method: job.request.method as 'GET',
          headers,
          body: body === null ? undefined : body instanceof Uint8Array ? body : Readable.from(body),
        },
        signal,
        // Interim responses, headers parsed (draft-wright-http-progress: 102 + Progress).
        (statusCode, info) => {
          if (statusCode !== 102) return;
          const p = parseProgress(header(info.progress));
          if (p) report(p);
        },
      );
    } catch (error) {
      endSpan(span, { error: signal.reason instanceof AbortReason ? signal.reason.why : errorType(error) });
      if (signal.aborted) throw signal.reason instanceof AbortReason ? signal.reason : error;
      const message = `${JOB_ERROR_CODES['upstream-unreachable']}: ${(error as Error).message}`;
      if (neverReachedUpstream(error)) return { kind: 'retry', sent: false, error: { code: 'upstream-unreachable', message } };
      // The request may have reached the upstream: only a retryable job may be sent again.
      return job.options.retryable
        ? { kind: 'retry', sent: true, error: { code: 'upstream-unreachable', message } }
        : { kind: 'fail', error: { code: 'upstream-interrupted', message: `${JOB_ERROR_CODES['upstream-interrupted']} (${(error as Error).message})` } };
    }
    if (job.options.upstreamAsync === 'follow' && namesMonitor(res)) {
      endSpan(span, { status: res.status });
      return followAccepted(following(), res, sentAt);
    }
    const outcome: Outcome = {
      kind: 'response',
      status: res.status,
      headers: responseHeaderPairs(res.headers),
      body: span ? endSpanWithBody(res.body, span, res.status) : res.body,
    };
    if (RETRY_STATUSES.has(res.status)) {
      // 0 = no usable Retry-After: the engine's backoff decides.
      outcome.retryAfterMs = Math.min(MAX_RETRY_AFTER_MS, parseRetryAfter(header(res.headers['retry-after'])) ?? 0);
    }
    return outcome;
  };
}

/**
 * Record progress one write at a time, keeping only the newest report while a write is under way: an
 * upstream that sends 102s faster than the store writes costs one write per store round trip, not a queue.
 */
function latestOnly(record: ExecutionContext['progress']): (p: JobProgress) => void {
  let pending: JobProgress | undefined;
  let writing = false;
  const pump = async () => {
    writing = true;
    while (pending) {
      const next = pending;
      pending = undefined;
      await record(next).catch(() => undefined); // progress is advisory: a failed write never fails the job
    }
    writing = false;
  };
  return (p) => {
    pending = p;
    if (!writing) void pump();
  };
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
