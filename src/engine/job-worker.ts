import type { Logger } from 'pino';
import type { Job } from '../model.js';
import { ClaimLoop } from '../shared/claim-loop.js';
import type { JobStore } from '../store/port.js';
import { AbortReason } from './executor.js';
import { jobTraceId } from './job-trace.js';
import { runAttempt, type RunnerDeps } from './runner.js';
import { WakeTimer } from './wake-timer.js';

export interface JobWorkerOptions {
  workerId: string;
  concurrency: number;
  leaseMs: number;
  /** How often to look for due jobs without being woken (delayed retries, jobs from other processes). */
  pollMs: number;
}

/**
 * Claims queued jobs up to the concurrency bound and runs them. Looks at once when told by `lookForWork()` (a
 * job was accepted here, or a store notification), when a job accepted here not runnable yet becomes due
 * (`wakeAt()`), and by a timer as the safety net.
 */
export class JobWorker {
  private readonly running = new Map<string, AbortController>();
  private readonly loop: ClaimLoop<Job>;
  private idle: Array<() => void> = [];
  /** Slots promised to jobs being accepted to run at once (see reserve). */
  private reserved = 0;
  /** When queued jobs not runnable yet (NewJob.runAt) become due: looked for then, not at the next poll. */
  private readonly wakes = new WakeTimer(() => this.lookForWork());

  constructor(
    private readonly store: JobStore,
    private readonly deps: RunnerDeps,
    private readonly options: JobWorkerOptions,
    private readonly log: Logger,
  ) {
    this.loop = new ClaimLoop<Job>({
      pollMs: options.pollMs,
      capacity: () => options.concurrency - this.running.size - this.reserved,
      claim: (n) => store.claimJobs(options.workerId, n, Date.now(), options.leaseMs),
      launch: (job) => this.run(job),
      onError: (error) => log.error({ err: error }, 'claiming jobs failed; will retry'),
    });
  }

  start(): void {
    this.loop.start();
  }

  get active(): number {
    return this.running.size;
  }

  /** The jobs whose attempts run here now (including one still retrying its ending write): the leases to renew. */
  runningIds(): string[] {
    return [...this.running.keys()];
  }

  /** Queued work has arrived (accepted here, announced by another process, or handed back): claim it. Cheap
   * to call often: concurrent calls coalesce into one claim loop. */
  lookForWork(): void {
    this.loop.lookForWork();
  }

  /** A job queued here becomes due at `epochMs` (epoch ms): look for work then (now if it has come). */
  wakeAt(epochMs: number): void {
    this.wakes.at(epochMs);
  }

  /**
   * Promise a slot to a job about to be accepted, so that it is committed already running (JobLease) and
   * started by `runReserved`, skipping the queue-then-claim round trip. Only when a slot is free and no
   * queued job is known to wait: a new job never overtakes one already in the queue.
   */
  reserve(): boolean {
    if (this.loop.backlog || !this.loop.running || this.running.size + this.reserved >= this.options.concurrency) return false;
    this.reserved++;
    return true;
  }

  /** Give back a reserved slot (the insert failed, or returned an existing job). */
  unreserve(): void {
    this.reserved--;
    this.loop.slotFreed();
  }

  /** Start a job committed with this process's lease, in the slot `reserve` promised. Not once stopping: the
   * lease is handed back with the others (or lapses and is rescued), as for a job claimed but not started. */
  runReserved(job: Job): void {
    this.reserved--;
    if (this.loop.running) this.run(job);
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
    this.loop.stop();
    this.wakes.stop();
    if (this.running.size === 0) return;
    const drained = new Promise<void>((resolve) => this.idle.push(resolve));
    const timer = setTimeout(() => {
      for (const c of this.running.values()) c.abort(new AbortReason('shutdown'));
    }, graceMs);
    await drained;
    clearTimeout(timer);
  }

  private run(job: Job): void {
    const controller = new AbortController();
    this.running.set(job.id, controller);
    this.deps.events.emit(job);
    runAttempt(this.deps, job, controller)
      .catch((error: unknown) => this.log.error({ err: error, job_id: job.id, trace_id: jobTraceId(job) }, 'attempt crashed'))
      .finally(() => {
        this.running.delete(job.id);
        if (this.running.size === 0 && this.idle.length) for (const resolve of this.idle.splice(0)) resolve();
        // A freed slot matters only if queued work may be waiting; otherwise the next accept runs at once. The end
        // of a grouped job's attempt (done, failed, requeued or canceled) may let the next of its group run: look now.
        if (job.group !== undefined) this.loop.lookForWork();
        else this.loop.slotFreed();
      });
  }
}
