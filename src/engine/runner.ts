import type { Logger } from 'pino';
import { JOB_ERROR_CODES, type HeaderPairs, type Job, type JobError } from '../model.js';
import type { JobStore } from '../store/port.js';
import { retryDelayMs } from './backoff.js';
import type { CallbackHandoff } from './callback-handoff.js';
import type { JobEvents } from './events.js';
import { AbortReason, InterruptedStreamError, type Executor, type Outcome } from './executor.js';
import { ResultTooLargeError, sinkResult } from './result-sink.js';
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
}

const CONTENT_TYPE = 'content-type';
/** Headers describing the wire form of the upstream's message, not the stored result. */
const WIRE_HEADERS = new Set(FRAMING_HEADERS);

/**
 * Runs one attempt of a claimed job to its end: executes it, stores the result under the attempt's lease,
 * then completes, requeues or fails it — every write fenced by the lease token, so an attempt that lost its
 * lease (rescued elsewhere, canceled) changes nothing.
 */
export async function runAttempt(deps: RunnerDeps, job: Job, controller: AbortController): Promise<void> {
  const { store, events, log } = deps;
  const timeout = setTimeout(() => controller.abort(new AbortReason('timeout')), job.options.timeoutMs);
  let outcome: Outcome;
  try {
    outcome = await deps.executor({
      job,
      signal: controller.signal,
      progress: async (p) => {
        const updated = await store.updateProgress(job.id, p, deps.now());
        if (updated) events.emit(updated);
      },
      body: () => job.request.body ?? ((job.request.bodySize ?? 0) > 0 ? store.readRequestBody(job.id) : null),
    });
  } catch (error) {
    outcome = failureFromAbort(controller.signal) ?? {
      kind: 'fail',
      error: { code: 'internal', message: `executor failed: ${(error as Error).message}` },
    };
    if (outcome.kind === 'fail' && outcome.error.code === 'internal') log.error({ err: error, job: job.id }, 'executor threw');
  }

  try {
    if (isShutdownOrCancel(controller.signal)) return; // the lease is handed back / job already canceled
    await settle(deps, job, outcome, controller.signal);
  } catch (error) {
    if (isShutdownOrCancel(controller.signal)) return;
    const reason = failureFromAbort(controller.signal);
    if (!reason && error instanceof InterruptedStreamError && job.options.retryable && job.attempts < job.options.maxAttempts) {
      await requeue(deps, job).catch((e: unknown) => log.error({ err: e, job: job.id }, 'could not requeue'));
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
    if (jobError.code === 'internal') log.error({ err: error, job: job.id }, 'storing the result failed');
    await finish(deps, job, { state: 'failed', response: null, error: jobError }).catch((e: unknown) =>
      log.error({ err: e, job: job.id }, 'could not record the failure'),
    );
  } finally {
    clearTimeout(timeout);
  }
}

async function settle(deps: RunnerDeps, job: Job, outcome: Outcome, signal: AbortSignal): Promise<void> {
  const attemptsLeft = job.attempts < job.options.maxAttempts;
  switch (outcome.kind) {
    case 'retry':
      if ((job.options.retryable || !outcome.sent) && attemptsLeft) return requeue(deps, job, outcome.delayMs);
      return void (await finish(deps, job, { state: 'failed', response: null, error: outcome.error }));
    case 'fail':
      return void (await finish(deps, job, { state: 'failed', response: null, error: outcome.error }));
    case 'response': {
      if (outcome.retryAfterMs !== undefined && job.options.retryable && attemptsLeft) {
        await drain(outcome.body).catch(() => undefined);
        return requeue(deps, job, outcome.retryAfterMs || undefined);
      }
      const { size, inline, lostLease } = await sinkResult(deps.store, job.id, job.leaseToken, outcome.body, deps.maxResultBytes);
      if (lostLease || signal.aborted) {
        const reason = failureFromAbort(signal);
        if (reason?.kind === 'fail') await finish(deps, job, { state: 'failed', response: null, error: reason.error });
        return;
      }
      const headers = storedHeaders(outcome.headers);
      const contentType = headers.find(([n]) => n === CONTENT_TYPE)?.[1] ?? null;
      const failed = outcome.status >= 400;
      await finish(
        deps,
        job,
        {
          state: failed ? 'failed' : 'succeeded',
          response: { status: outcome.status, headers, size, contentType },
          error: failed ? { code: 'upstream-http-error', message: `the upstream answered ${outcome.status}` } : null,
        },
        inline ?? (size === 0 ? EMPTY : undefined),
      );
    }
  }
}

/**
 * Complete the job under its lease. `body` is the whole result when it is in memory (undefined: it was stored
 * in pieces). With callback hosts known and delivery slots free, the completion also leases the callbacks
 * and they start at once, the result in hand.
 */
async function finish(
  deps: RunnerDeps,
  job: Job,
  c: { state: 'succeeded' | 'failed'; response: Job['response']; error: JobError | null },
  body?: Uint8Array,
): Promise<void> {
  const hosts = job.options.callbackHosts;
  const lease = hosts?.length ? deps.callbacks?.reserve(hosts) : undefined;
  let done;
  try {
    done = await deps.store.completeJob(
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
    );
  } catch (error) {
    if (lease) deps.callbacks!.release(lease);
    throw error;
  }
  if (!done) {
    if (lease) deps.callbacks!.release(lease);
    deps.log.warn({ job: job.id }, 'lease lost before completion; result dropped');
    return;
  }
  if (lease) deps.callbacks!.launch(lease, done.job, c.response ? (body ?? null) : EMPTY, done.deliveries);
  if (done.due) deps.callbacks?.lookForWork();
  deps.events.emit(done.job);
}

const EMPTY = new Uint8Array(0);

async function requeue(deps: RunnerDeps, job: Job, delayMs?: number): Promise<void> {
  const now = deps.now();
  const runAt = now + (delayMs ?? retryDelayMs(job.attempts));
  if (await deps.store.requeueJob(job.id, job.leaseToken, runAt, now)) {
    deps.log.info({ job: job.id, attempt: job.attempts, retryInMs: runAt - now }, 'attempt failed; retrying');
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

function isShutdownOrCancel(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof AbortReason && signal.reason.why !== 'timeout';
}

function storedHeaders(headers: HeaderPairs): HeaderPairs {
  return headers.filter(([name]) => !WIRE_HEADERS.has(name));
}

async function drain(body: AsyncIterable<Uint8Array> | null): Promise<void> {
  if (body) for await (const _ of body);
}
