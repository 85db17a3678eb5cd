import type { Executor, Outcome } from '../engine/executor.js';
import { SpanKind, endSpan, errorType, outgoingTraceparent, startExecutionSpan, withSpan } from '../engine/job-trace.js';
import type { HeaderPairs, Job, TraceExecution } from '../model.js';
import { wholeBody } from '../shared/pieces.js';
import { handlerRequest, toReply, type AsyncHandler } from './handler.js';

/**
 * Library mode's executor: runs the handler registered under the job's route name (stored with the job, so
 * a restarted process finds it again). A thrown error fails the job with `handler-failed` — or is retried,
 * when the route allows retries and attempts are left. The handler runs in the job's trace: its request's
 * `traceparent` is the run's (as an upstream's would be), and the run's span is active while it runs.
 */
export function handlerExecutor(handlers: ReadonlyMap<string, AsyncHandler>, tracing: TraceExecution = 'link'): Executor {
  return async ({ job, signal, progress, body: storedBody }): Promise<Outcome> => {
    const name = job.options.route;
    const handler = name === undefined ? undefined : handlers.get(name);
    if (!handler) {
      // Failing beats waiting forever: a job nobody here can run would otherwise hold a queue slot silently.
      return {
        kind: 'fail',
        error: { code: 'handler-not-registered', message: `no handler named "${name ?? ''}" is registered in this process` },
      };
    }
    const { method, url } = job.request;
    // Handlers get the body in one piece; a large upload was streamed into the store and is read back here.
    const body = await wholeBody(storedBody());
    const span = startExecutionSpan(job, tracing, 'asyncgate handler', SpanKind.INTERNAL);
    if (span?.isRecording()) span.setAttributes({ 'asyncgate.job.id': job.id, 'asyncgate.attempt': job.attempts, 'asyncgate.route': name! });
    const headers = tracedHeaders(job, outgoingTraceparent(job, tracing, span));
    let value;
    try {
      value = await withSpan(span, () =>
        handler({
          jobId: job.id,
          request: handlerRequest(method, url, headers, body),
          progress: (current, total, message) => progress(progressOf(current, total, message)),
          signal,
        }),
      );
      endSpan(span, {});
    } catch (error) {
      endSpan(span, { error: errorType(error) });
      // Aborted (cancel, timeout, shutdown): the runner knows why and records it.
      if (signal.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      return { kind: 'retry', sent: true, error: { code: 'handler-failed', message: message || 'the handler threw' } };
    }
    return { kind: 'response', ...toReply(value) };
  };
}

/** The stored request headers, the submitter's trace context replaced by the run's. */
function tracedHeaders(job: Job, traceparent: string | undefined): HeaderPairs {
  const { headers } = job.request;
  if (traceparent === undefined) return headers;
  const out: HeaderPairs = headers.filter(([n]) => n !== 'traceparent' && n !== 'tracestate');
  out.push(['traceparent', traceparent]);
  const state = job.options.trace?.tracestate;
  if (state) out.push(['tracestate', state]);
  return out;
}

function progressOf(current: number, total?: number, message?: string) {
  if (!Number.isFinite(current) || (total !== undefined && !Number.isFinite(total))) {
    throw new TypeError('progress(current, total?, message?) takes finite numbers');
  }
  return { current, ...(total !== undefined ? { total } : {}), ...(message !== undefined ? { message } : {}) };
}
