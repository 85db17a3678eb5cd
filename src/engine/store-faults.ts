import type { Logger } from 'pino';
import type { Job } from '../model.js';
import { StorageFullError } from '../store/errors.js';
import { jobTraceId } from './job-trace.js';
import type { JobStore } from '../store/port.js';

/** A store failure that passes with time (no space left, the database unreachable or failing over): the same
 * write may succeed later. */
export function isPassingFault(store: JobStore, error: unknown): boolean {
  return error instanceof StorageFullError || store.isTransient?.(error) === true;
}

/** First pause between tries of an ending write, doubled after each failure up to MAX_PAUSE_MS. */
const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 5_000;
/** Warn on the first failure, then every this many (about once a minute at the longest pause). */
const WARN_EVERY = 12;

/**
 * Run the write that ends an attempt (its completion, requeue or failure) until the store takes it. While the
 * store fails with a fault that passes, try again with backoff: the attempt is still running in this process,
 * so the heartbeat keeps renewing its lease (and only its lease) and no rescue takes the job meanwhile. The
 * write is fenced by the lease token, so if the lease was lost after all (the outage outlasted it and another
 * process rescued the job), it commits nothing and says so, and the rescue's attempt stands. Gives up on any
 * other error, or once `halt` fires (cancel, shutdown: the lease is handed back, or lapses and is rescued).
 */
export async function untilStored<T>(
  deps: { store: JobStore; log: Logger },
  job: Pick<Job, 'id' | 'options'>,
  what: string,
  halt: AbortSignal,
  write: () => Promise<T>,
): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      const out = await write();
      if (tries > 1) deps.log.info({ job_id: job.id, trace_id: jobTraceId(job), tries }, `stored ${what} once the store recovered`);
      return out;
    } catch (error) {
      if (halt.aborted || !isPassingFault(deps.store, error)) throw error;
      if (tries % WARN_EVERY === 1) {
        deps.log.warn({ err: error, job_id: job.id, trace_id: jobTraceId(job), tries }, `could not store ${what}; trying again while the attempt holds its lease`);
      }
      await pause(Math.min(FIRST_PAUSE_MS * 2 ** (tries - 1), MAX_PAUSE_MS), halt);
      if (halt.aborted) throw error;
    }
  }
}

function pause(ms: number, halt: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      halt.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    halt.addEventListener('abort', done, { once: true });
  });
}
