import type { HeaderPairs, Job, JobError, JobProgress, UpstreamMonitor } from '../model.js';

/**
 * The executor port: how a claimed job's attempt is run. The gateway's executor forwards the request to the
 * upstream; library mode's calls a registered handler. The engine owns leases, storage and retries.
 */
export interface ExecutionContext {
  job: Job;
  /** Fires on cancel, on the attempt's timeout, and on shutdown. `signal.reason` tells which. */
  signal: AbortSignal;
  progress(progress: JobProgress): Promise<void>;
  /** The request body: in memory when small, else streamed from the store (fresh for every attempt). */
  body(): Uint8Array | AsyncIterable<Uint8Array> | null;
  /** Keep the upstream operation this attempt follows with the job, under its lease, before polling it: a rescued
   * job then resumes polling instead of sending its request again. false if the lease is lost. */
  keepUpstreamMonitor(monitor: UpstreamMonitor): Promise<boolean>;
}

export type Outcome =
  | {
      kind: 'response';
      status: number;
      headers: HeaderPairs;
      body: AsyncIterable<Uint8Array> | null;
      /** The upstream asked to be tried again (503 + Retry-After, 502, 504) and the request is safe to repeat. */
      retryAfterMs?: number;
      /** The job fails with this error, the response kept as its result (a followed upstream operation that
       * ended Failed). Without it, a status of 400 or more fails it with `upstream-http-error`. */
      error?: JobError;
    }
  /**
   * A transient failure: try again later. `sent: false` means nothing reached the upstream, so a retry is
   * safe for any request; `sent: true` retries only jobs whose request is safe to repeat.
   */
  | { kind: 'retry'; sent: boolean; error: JobError; delayMs?: number }
  | { kind: 'fail'; error: JobError };

export type Executor = (ctx: ExecutionContext) => Promise<Outcome>;

/** Why an attempt's signal was aborted. */
export class AbortReason extends Error {
  override readonly name = 'AbortReason';
  readonly code = 'attempt-aborted';
  constructor(readonly why: 'canceled' | 'timeout' | 'shutdown') {
    super(`attempt aborted: ${why}`);
  }
}

/** Thrown by an executor's response body when the connection broke mid-response. */
export class InterruptedStreamError extends Error {
  override readonly name = 'InterruptedStreamError';
  readonly code = 'upstream-interrupted';
}
