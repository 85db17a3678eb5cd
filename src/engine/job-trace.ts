/**
 * One trace across the asynchronous gap (docs/operations/tracing.md): a job keeps the W3C trace context it was
 * submitted with, and every request made for it later (each upstream attempt, each callback) carries a
 * traceparent of that trace. Spans go through `@opentelemetry/api` only: with no SDK registered nothing is
 * recorded, and no span object is made at all; the wire headers and the job's `traceId` work the same.
 */
import {
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  createTraceState,
  isSpanContextValid,
  trace,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import type { Job, JobTrace, TraceExecution } from '../model.js';
import {
  SAMPLED,
  formatTraceparent,
  newSpanId,
  newTraceId,
  parseTraceparent,
  parseTracestate,
  traceIdOf,
  withParentId,
  type TraceParent,
} from '../protocol/trace-context.js';

export { SpanKind };
export type { Span };

/** A ProxyTracer: it finds an SDK registered later. */
const tracer = trace.getTracer('asyncgate');
/** What the global provider delegates to while no SDK is registered. */
const NOOP_DELEGATE = new ProxyTracerProvider().getDelegate();

/** false only when no SDK is registered for certain (the global provider is the API's own, delegating to the
 * no-op): then no span is started, saving the span and context objects of every request. */
function recordingPossible(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_DELEGATE);
}

/** The job's trace id (`traceId` in its representation, `trace_id` in logs); undefined on jobs older than it. */
export function jobTraceId(job: Pick<Job, 'options'>): string | undefined {
  const t = job.options.trace;
  return t && traceIdOf(t.traceparent);
}

/** A job's accept: the trace context it keeps, and the span that accepted it (none without an SDK). */
export interface AcceptTrace {
  trace: JobTrace;
  span: Span | undefined;
}

/**
 * Start the accept span: a child of the submitter's `traceparent` (or of a span an HTTP instrumentation already
 * started for the request), else the root of a new trace. The job keeps that trace, the accept span's id as
 * parent-id. Without an SDK: the submitter's trace id (or a new one), a random parent-id, the submitter's flags
 * (a new trace is marked sampled, so an upstream that samples by its parent still records it).
 */
export function startAcceptSpan(traceparent: string | string[] | undefined, tracestate: string | string[] | undefined): AcceptTrace {
  const caller = parseTraceparent(traceparent);
  // §3.3: a traceparent that cannot be read takes its tracestate with it.
  const state = caller ? parseTracestate(tracestate) : undefined;
  if (recordingPossible()) {
    const active = context.active();
    const nested = trace.getSpan(active) !== undefined;
    const parent = nested ? active : caller ? trace.setSpanContext(ROOT_CONTEXT, remote(caller.traceId, caller.parentId, caller.flags, state)) : ROOT_CONTEXT;
    const span = tracer.startSpan('asyncgate accept', { kind: nested ? SpanKind.INTERNAL : SpanKind.SERVER }, parent);
    const sc = span.spanContext();
    // A span of its own (recorded or sampled out); not the no-op's echo of its parent, nor a suppressed one.
    if (isSpanContextValid(sc) && sc.spanId !== caller?.parentId) {
      return { span, trace: jobTrace(formatTraceparent(sc.traceId, sc.spanId, sc.traceFlags), sc.traceState ? parseTracestate(sc.traceState.serialize()) : state) };
    }
    return { span, trace: unrecorded(caller, state) };
  }
  return { span: undefined, trace: unrecorded(caller, state) };
}

/** The job's trace when no span of ours names it: the caller's trace (or a new one), a random parent-id. */
function unrecorded(caller: TraceParent | undefined, state: string | undefined): JobTrace {
  return jobTrace(formatTraceparent(caller?.traceId ?? newTraceId(), newSpanId(), caller ? caller.flags : SAMPLED), state);
}

const jobTrace = (traceparent: string, tracestate: string | undefined): JobTrace => (tracestate ? { traceparent, tracestate } : { traceparent });

function remote(traceId: string, spanId: string, traceFlags: number, tracestate: string | undefined): SpanContext {
  return { traceId, spanId, traceFlags, isRemote: true, traceState: tracestate ? createTraceState(tracestate) : undefined };
}

/** The accept span as a remote span context (the parent, or the link, of an execution span). */
function acceptContext(t: JobTrace): SpanContext {
  const p = parseTraceparent(t.traceparent)!;
  return remote(p.traceId, p.parentId, p.flags, t.tracestate);
}

/**
 * Start a span for one piece of a job's execution (an upstream attempt, a handler run, a callback attempt):
 * `child` of the accept span, or (`link`) the root of a trace of its own with a link to it. undefined without an
 * SDK, or for a job that kept no trace.
 */
export function startExecutionSpan(job: Job, mode: TraceExecution, name: string, kind: SpanKind): Span | undefined {
  const t = job.options.trace;
  if (!t || !recordingPossible()) return undefined;
  const accept = acceptContext(t);
  return mode === 'child'
    ? tracer.startSpan(name, { kind }, trace.setSpanContext(ROOT_CONTEXT, accept))
    : tracer.startSpan(name, { kind, root: true, links: [{ context: accept }] }, ROOT_CONTEXT);
}

/**
 * The traceparent an execution request carries: always the job's trace. In `child` mode its parent-id is the
 * execution span's (a random id when none records); in `link` mode the accept span's, the span of the job's trace
 * the request belongs under (the execution span is in a trace of its own). undefined for a job that kept no trace.
 */
export function outgoingTraceparent(job: Job, mode: TraceExecution, span: Span | undefined): string | undefined {
  const t = job.options.trace;
  if (!t) return undefined;
  if (mode === 'link') return t.traceparent;
  if (span) {
    const sc = span.spanContext();
    if (isSpanContextValid(sc) && t.traceparent.startsWith(sc.traceId, 3)) return formatTraceparent(sc.traceId, sc.spanId, sc.traceFlags);
  }
  return withParentId(t.traceparent, newSpanId());
}

/** Run `fn` with `span` active, so spans started inside (a library handler's) are its children. */
export function withSpan<T>(span: Span | undefined, fn: () => T): T {
  return span ? context.with(trace.setSpan(ROOT_CONTEXT, span), fn) : fn();
}

/** `error.type` for a thrown error: its code (undici's, Node's, asyncgate's), else its name. */
export function errorType(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code;
  if (typeof code === 'string' && code) return code;
  return typeof e?.name === 'string' && e.name ? e.name : '_OTHER';
}

/** A response body that ends `span` (with `status`) when it is read to its end, broken off, or left early. */
export function endSpanWithBody(body: AsyncIterable<Uint8Array>, span: Span, status: number): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const it = body[Symbol.asyncIterator]();
      let ended = false;
      const end = (error?: string) => {
        if (ended) return;
        ended = true;
        endSpan(span, { status, error });
      };
      return {
        async next() {
          try {
            const r = await it.next();
            if (r.done) end();
            return r;
          } catch (error) {
            end(errorType(error));
            throw error;
          }
        },
        async return() {
          end();
          return (await it.return?.()) ?? { done: true, value: undefined };
        },
      };
    },
  };
}

/**
 * End a span with its outcome (HTTP semantic conventions): the status code, and `error.type` (the status as
 * text from `errorFrom` on, else what went wrong). A client span errs from 400 (the default), a server span from 500.
 */
export function endSpan(span: Span | undefined, outcome: { status?: number; error?: string }, errorFrom = 400): void {
  if (!span) return;
  if (span.isRecording()) {
    const { status } = outcome;
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    const error = outcome.error ?? (status !== undefined && status >= errorFrom ? String(status) : undefined);
    if (error !== undefined) {
      span.setAttribute('error.type', error);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }
  span.end();
}
