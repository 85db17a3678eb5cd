import type { Logger } from 'pino';
import type { Job } from '../model.js';
import type { JobStore } from '../store/port.js';
import { AbortReason } from './executor.js';
import { runAttempt, type RunnerDeps } from './runner.js';

export interface DispatcherOptions {
  workerId: string;
  concurrency: number;
  leaseMs: number;
  /** How often to look for due jobs without being woken (delayed retries, jobs from other processes). */
  pollMs: number;
}

/**
 * Claims queued jobs up to the concurrency bound and runs them. Woken at once by `wake()` (a job was
 * accepted here, or a store notification), and by a timer as the safety net.
 */
export class Dispatcher {
  private readonly running = new Map<string, AbortController>();
  private claiming = false;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private idle: Array<() => void> = [];

  constructor(
    private readonly store: JobStore,
    private readonly deps: RunnerDeps,
    private readonly options: DispatcherOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.timer.unref();
    this.wake();
  }

  get active(): number {
    return this.running.size;
  }

  /** Look for work now. Cheap to call often: concurrent calls coalesce into one claim loop. */
  wake(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    void this.claimLoop();
  }

  /** Abort the attempt running here for a job (cancel). */
  abort(jobId: string, why: AbortReason['why']): boolean {
    const controller = this.running.get(jobId);
    if (!controller) return false;
    controller.abort(new AbortReason(why));
    return true;
  }

  /** Stop claiming; wait up to `graceMs` for running attempts, then abort what is left. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.running.size === 0) return;
    const drained = new Promise<void>((resolve) => this.idle.push(resolve));
    const timer = setTimeout(() => {
      for (const c of this.running.values()) c.abort(new AbortReason('shutdown'));
    }, graceMs);
    await drained;
    clearTimeout(timer);
  }

  private async claimLoop(): Promise<void> {
    this.claiming = true;
    try {
      do {
        this.again = false;
        while (!this.stopped && this.running.size < this.options.concurrency) {
          const jobs = await this.store.claimJobs(
            this.options.workerId,
            this.options.concurrency - this.running.size,
            Date.now(),
            this.options.leaseMs,
          );
          for (const job of jobs) this.run(job);
          if (jobs.length === 0) break;
        }
      } while (this.again && !this.stopped);
    } catch (error) {
      this.log.error({ err: error }, 'claiming jobs failed; will retry');
    } finally {
      this.claiming = false;
    }
  }

  private run(job: Job): void {
    const controller = new AbortController();
    this.running.set(job.id, controller);
    this.deps.events.emit(job);
    runAttempt(this.deps, job, controller)
      .catch((error: unknown) => this.log.error({ err: error, job: job.id }, 'attempt crashed'))
      .finally(() => {
        this.running.delete(job.id);
        if (this.running.size === 0 && this.idle.length) for (const resolve of this.idle.splice(0)) resolve();
        this.wake();
      });
  }
}
