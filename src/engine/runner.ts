import type { Logger } from 'pino';
import { JOB_ERROR_CODES, type HeaderPairs, type Job, type JobError } from '../model.js';
import type { JobStore } from '../store/port.js';
import type { Metrics } from '../telemetry/metrics.js';
import { retryDelayMs } from './backoff.js';
import { jobTraceId } from './job-trace.js';
import type { CallbackHandoff } from './callback-handoff.js';
import type { JobEvents } from './events.js';
import { AbortReason, InterruptedStreamError, type Executor, type Outcome } from './executor.js';
import { ResultTooLargeError, sinkResult } from './result-sink.js';
import { isPassingFault, untilStored } from './store-faults.js';
import { FRAMING_HEADERS } from '../protocol/hop-by-hop.js';

export interface RunnerDeps {
  store: JobStore;
  events: JobEvents;
  executor: Executor;
  log: Logger;
  maxResultBytes: number;
  now: () => number;
  /** Where a finishing attempt hands its callbacks (set once the delivery side exists). */
  callbacks?: CallbackHandoff;
  metrics: Metrics;
  /** Look for work at this time (a requeued attempt's retry is due then). */
  wakeAt?: (epochMs: number) => void;
}

const CONTENT_TYPE = 'content-type';
/** Headers describing the wire form of the upstream's message, not the stored result. */
const WIRE_HEADERS = new Set(FRAMING_HEADERS);

/**
 * Runs one attempt of a claimed job to its end: executes it, stores the result under the attempt's lease,
 * then completes, requeues or fails it — every write fenced by the lease token, so an attempt that lost its
 * lease (rescued elsewhere, canceled) changes nothing. The ending write is retried while the store fails
 * with a fault that passes (see untilStored), so a full disk or a database outage fails no job.
 * `controller` is the worker's: cancel and shutdown.
 */
export async function runAttempt(deps: RunnerDeps, job: Job, controller: AbortController): Promise<void> {
  const { store, events, log } = deps;
  // The work's signal: the worker's, or this attempt's timeout. Only the worker's (`halt`) stops the retries
  // of the ending write; a timeout only ends the upstream call, and an aborted signal cannot be aborted again.
  const halt = controller.signal;
  const work = new AbortController();
  const relay = () => work.abort(halt.reason);
  if (halt.aborted) relay();
  else halt.addEventListener('abort', relay, { once: true });
  const signal = work.signal;
  const timeout = setTimeout(() => work.abort(new AbortReason('timeout')), job.options.timeoutMs);
  let outcome: Outcome;
  deps.metrics.attemptStarted(job, deps.now());
  const sentAt = performance.now();
  try {
    outcome = await deps.executor({
      job,
      signal,
      progress: async (p) => {
        const updated = await store.updateProgress(job.id, p, deps.now());
        if (updated) events.emit(updated);
      },
      body: () => job.request.body ?? ((job.request.bodySize ?? 0) > 0 ? store.readRequestBody(job.id) : null),
      keepUpstreamMonitor: async (monitor) => {
        const kept = await store.setUpstreamMonitor(job.id, job.leaseToken, monitor);
        if (kept) job.options.upstreamMonitor = monitor; // the completion may take the options from this copy
        return kept;
      },
    });
  } catch (error) {
    outcome = failureFromAbort(signal) ?? {
      kind: 'fail',
      error: { code: 'internal', message: `executor failed: ${(error as Error).message}` },
    };
    if (outcome.kind === 'fail' && outcome.error.code === 'internal') log.error({ err: error, job_id: job.id, trace_id: jobTraceId(job) }, 'executor threw');
  }

  deps.metrics.upstream(outcomeLabel(outcome), (performance.now() - sentAt) / 1000);

  try {
    if (halt.aborted) return; // the lease is handed back / job already canceled
    await settle(deps, job, outcome, signal, halt);
  } catch (error) {
    if (halt.aborted) return;
    const reason = failureFromAbort(signal);
    // The response broke off, or its pieces could not be stored (no space, database unreachable): run it again.
    const again = error instanceof InterruptedStreamError || isPassingFault(store, error);
    if (!reason && again && job.options.retryable && job.attempts < job.options.maxAttempts) {
      const code = error instanceof InterruptedStreamError ? 'upstream-interrupted' : 'internal';
      const why: JobError = { code, message: (error as Error).message };
      await requeue(deps, job, halt, why).catch((e: unknown) => log.error({ err: e, job_id: job.id, trace_id: jobTraceId(job) }, 'could not requeue'));
      return;
    }
    const jobError: JobError =
      reason?.kind === 'fail'
        ? reason.error
        : error instanceof ResultTooLargeError
          ? { code: 'result-too-large', message: error.message }
          : error instanceof InterruptedStreamError
            ? { code: 'upstream-interrupted', message: `${JOB_ERROR_CODES['upstream-interrupted']} (${error.message})` }
            : { code: 'internal', message: (error as Error).message };
    if (jobError.code === 'internal') log.error({ err: error, job_id: job.id, trace_id: jobTraceId(job) }, 'storing the result failed');
    await finish(deps, job, halt, { state: 'failed', response: null, error: jobError }).catch((e: unknown) =>
      log.error({ err: e, job_id: job.id, trace_id: jobTraceId(job) }, 'could not record the failure'),
    );
  } finally {
    clearTimeout(timeout);
    halt.removeEventListener('abort', relay);
  }
}

async function settle(deps: RunnerDeps, job: Job, outcome: Outcome, signal: AbortSignal, halt: AbortSignal): Promise<void> {
  const attemptsLeft = job.attempts < job.options.maxAttempts;
  switch (outcome.kind) {
    case 'retry':
      if ((job.options.retryable || !outcome.sent) && attemptsLeft) return requeue(deps, job, halt, outcome.error, outcome.delayMs);
      return void (await finish(deps, job, halt, { state: 'failed', response: null, error: outcome.error }));
    case 'fail':
      return void (await finish(deps, job, halt, { state: 'failed', response: null, error: outcome.error }));
    case 'response': {
      if (outcome.retryAfterMs !== undefined && job.options.retryable && attemptsLeft) {
        await drain(outcome.body).catch(() => undefined);
        const why: JobError = { code: 'upstream-http-error', message: `the upstream answered ${outcome.status}` };
        return requeue(deps, job, halt, why, outcome.retryAfterMs || undefined, outcome.status);
      }
      const { size, inline, lostLease } = await sinkResult(deps.store, job.id, job.leaseToken, outcome.body, deps.maxResultBytes);
      if (lostLease || signal.aborted) {
        const reason = failureFromAbort(signal);
        if (reason?.kind === 'fail') await finish(deps, job, halt, { state: 'failed', response: null, error: reason.error });
        return;
      }
      const headers = storedHeaders(outcome.headers);
      const contentType = headers.find(([n]) => n === CONTENT_TYPE)?.[1] ?? null;
      const failed = outcome.error !== undefined || outcome.status >= 400;
      await finish(
        deps,
        job,
        halt,
        {
          state: failed ? 'failed' : 'succeeded',
          response: { status: outcome.status, headers, size, contentType },
          error: failed ? (outcome.error ?? { code: 'upstream-http-error', message: `the upstream answered ${outcome.status}` }) : null,
        },
        inline ?? (size === 0 ? EMPTY : undefined),
      );
    }
  }
}

/**
 * Complete the job under its lease (retried while the store's fault passes: untilStored). `body` is the whole
 * result when it is in memory (undefined: it was stored in pieces). With callback hosts known and delivery
 * slots free, the completion also leases the callbacks and they start at once, the result in hand.
 */
async function finish(
  deps: RunnerDeps,
  job: Job,
  halt: AbortSignal,
  c: { state: 'succeeded' | 'failed'; response: Job['response']; error: JobError | null },
  body?: Uint8Array,
): Promise<void> {
  const hosts = job.options.callbackHosts;
  const lease = hosts?.length ? deps.callbacks?.reserve(hosts) : undefined;
  let done;
  try {
    // finishedAt is taken at each try: the callbacks' leases run from it.
    done = await untilStored(deps, job, 'the completion', halt, () =>
      deps.store.completeJob(
        job.id,
        job.leaseToken,
        {
          state: c.state,
          response: c.response,
          error: c.error,
          body: body?.byteLength ? body : undefined,
          finishedAt: deps.now(),
          leaseDeliveries: lease,
          job,
        },
        job.options.retentionMs,
      ),
    );
  } catch (error) {
    if (lease) deps.callbacks!.release(lease);
    throw error;
  }
  if (!done) {
    if (lease) deps.callbacks!.release(lease);
    deps.log.warn({ job_id: job.id, trace_id: jobTraceId(job) }, 'lease lost before completion; result dropped');
    // Rescued (or canceled) meanwhile, or a retried statement that had committed: show waiters the job as it is.
    const now = await deps.store.getJob(job.id).catch(() => null);
    if (now) deps.events.emit(now);
    return;
  }
  deps.metrics.finished(done.job);
  if (lease) deps.callbacks!.launch(lease, done.job, c.response ? (body ?? null) : EMPTY, done.deliveries);
  if (done.due) deps.callbacks?.lookForWork();
  deps.events.emit(done.job);
}

const EMPTY = new Uint8Array(0);

/** An attempt's outcome as a metric label: the answer's status class, or the job error code. */
function outcomeLabel(outcome: Outcome): string {
  return outcome.kind === 'response' ? `${Math.floor(outcome.status / 100)}xx` : outcome.error.code;
}

/** Put the job back for another attempt (retried while the store's fault passes); `why` is what went wrong
 * (with the upstream's `status` when it answered), kept in the job's history. */
async function requeue(deps: RunnerDeps, job: Job, halt: AbortSignal, why: JobError, delayMs?: number, status?: number): Promise<void> {
  const wait = delayMs ?? retryDelayMs(job.attempts);
  const reason = status === undefined ? { code: why.code } : { code: why.code, status };
  let due = 0;
  const requeued = await untilStored(deps, job, 'the requeue', halt, () => {
    const now = deps.now();
    due = now + wait;
    return deps.store.requeueJob(job.id, job.leaseToken, due, now, reason);
  });
  if (requeued) {
    deps.wakeAt?.(due);
    deps.log.info({ job_id: job.id, trace_id: jobTraceId(job), attempt: job.attempts, retryInMs: wait, error: why }, 'attempt failed; retrying');
    const updated = await deps.store.getJob(job.id);
    if (updated) deps.events.emit(updated);
  }
}

function failureFromAbort(signal: AbortSignal): Outcome | undefined {
  if (!signal.aborted) return undefined;
  const why = signal.reason instanceof AbortReason ? signal.reason.why : 'canceled';
  if (why === 'timeout') {
    return { kind: 'fail', error: { code: 'upstream-timeout', message: JOB_ERROR_CODES['upstream-timeout'] } };
  }
  return { kind: 'fail', error: { code: 'canceled', message: JOB_ERROR_CODES.canceled } };
}

function storedHeaders(headers: HeaderPairs): HeaderPairs {
  return headers.filter(([name]) => !WIRE_HEADERS.has(name));
}

async function drain(body: AsyncIterable<Uint8Array> | null): Promise<void> {
  if (body) for await (const _ of body);
}
