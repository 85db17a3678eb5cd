import type { Logger } from 'pino';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { JOB_ERROR_CODES, TERMINAL_STATES, type Job, type JobProgress, type NewJob } from '../model.js';
import type { InsertOutcome, JobFilter, JobStore, RetryOutcome, StoreChange } from '../store/port.js';
import { callbackHost, type CallbackHandoff } from './callback-handoff.js';
import { JobWorker } from './job-worker.js';
import { JobEvents } from './events.js';
import type { Executor } from './executor.js';
import { newJobId, newWorkerId } from './ids.js';
import { INTERRUPTED, Maintenance } from './maintenance.js';
import type { RunnerDeps } from './runner.js';
import { Metrics } from '../telemetry/metrics.js';

export interface EngineOptions {
  executor: Executor;
  store: JobStore;
  log: Logger;
  /** Most attempts running at once in this process. */
  concurrency?: number;
  /** Most jobs waiting before new ones are refused with 503. */
  maxQueued?: number;
  leaseMs?: number;
  rescueEveryMs?: number;
  pollMs?: number;
  sweepEveryMs?: number;
  /** How long a tombstone answers 410 after a job is deleted or expires. */
  tombstoneMs?: number;
  maxResultBytes?: number;
  /** Where the job metrics go (a disabled registry when not given). */
  metrics?: Metrics;
}

/**
 * The job life cycle: accept, claim, lease, complete, cancel, expire. Transport-free: the gateway and the
 * library adapters drive it; the executor port runs the work; the store port keeps it.
 */
export class Engine {
  readonly events: JobEvents;
  readonly workerId = newWorkerId();
  readonly store: JobStore;
  private readonly jobs: JobWorker;
  private readonly maintenance: Maintenance;
  private readonly log: Logger;
  private readonly maxQueued: number;
  private readonly tombstoneMs: number;
  private readonly leaseMs: number;
  private readonly runnerDeps: RunnerDeps;
  readonly metrics: Metrics;
  private queuedEstimate = 0;
  /** Long polls (and other waits for a change) in progress. */
  private waiting = 0;
  private queuedRefresh: NodeJS.Timeout | undefined;
  private accepting = true;
  private unlisten: (() => void) | undefined;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.events = new JobEvents(this.store.watch?.bind(this.store));
    this.metrics = options.metrics ?? new Metrics({ enabled: false });
    this.log = options.log;
    this.maxQueued = options.maxQueued ?? 10_000;
    this.tombstoneMs = options.tombstoneMs ?? 24 * 3600_000;
    const leaseMs = options.leaseMs ?? 10_000;
    this.leaseMs = leaseMs;
    this.runnerDeps = {
      store: this.store,
      events: this.events,
      executor: options.executor,
      log: this.log,
      maxResultBytes: options.maxResultBytes ?? 100 * 1024 * 1024,
      now: Date.now,
      metrics: this.metrics,
      // A retry due later starts at its time, not at the next poll.
      wakeAt: (at) => this.jobs.wakeAt(at),
    };
    this.jobs = new JobWorker(
      this.store,
      this.runnerDeps,
      { workerId: this.workerId, concurrency: options.concurrency ?? 64, leaseMs, pollMs: options.pollMs ?? 1000 },
      this.log,
    );
    this.maintenance = new Maintenance(
      this.store,
      this.events,
      {
        workerId: this.workerId,
        runningJobs: () => this.jobs.runningIds(),
        leaseMs,
        rescueEveryMs: options.rescueEveryMs ?? 2000,
        sweepEveryMs: options.sweepEveryMs ?? 10_000,
        sweepBatch: 500,
        tombstoneMs: this.tombstoneMs,
        metrics: this.metrics,
      },
      this.log,
      () => this.jobs.lookForWork(),
      () => this.runnerDeps.callbacks?.lookForWork(),
    );
  }

  async start(): Promise<void> {
    this.unlisten = this.store.listen?.((change) => this.onStoreChange(change));
    await this.refreshQueued();
    // A failed count (the database unreachable) keeps the last estimate; a rejection left unhandled would end the process.
    this.queuedRefresh = setInterval(
      () => void this.refreshQueued().catch((error: unknown) => this.log.warn({ err: error }, 'could not count queued jobs')),
      1000,
    );
    this.queuedRefresh.unref();
    this.jobs.start();
    this.maintenance.start();
    // A restart on the same store: jobs whose leases lapsed while we were down are rescued at once.
    await this.maintenance.rescue().catch((error: unknown) => this.log.error({ err: error }, 'initial rescue failed'));
  }

  /**
   * Another process changed something (stores that `listen`): look for new work,
   * wake the waiters of a job that changed (a long poll here, the job finished there), and abort our attempt
   * of a job canceled or deleted elsewhere.
   */
  private onStoreChange(change: StoreChange): void {
    switch (change.kind) {
      case 'work':
        return this.jobs.lookForWork();
      case 'gone':
        this.jobs.abort(change.id, 'canceled');
        return this.events.emitGone(change.id);
      case 'job':
        if (change.state === 'canceled') this.jobs.abort(change.id, 'canceled');
        if (this.events.isWatched(change.id)) void this.republish(change.id);
        return;
      case 'resync':
        // Notifications may have been missed while the channel was down: look again at everything watched.
        this.jobs.lookForWork();
        for (const id of this.events.watchedIds()) void this.republish(id);
        return;
      case 'deliveries':
        return;
    }
  }

  private async republish(id: string): Promise<void> {
    try {
      const job = await this.store.getJob(id);
      if (job) this.events.emit(job);
      else this.events.emitGone(id);
    } catch (error) {
      this.log.warn({ err: error, job_id: id }, 'could not read a job changed by another process');
    }
  }

  /** Commit a job (durably) and schedule it. Repeats of an Idempotency-Key return the original job. */
  async accept(job: NewJob): Promise<InsertOutcome> {
    if (!this.accepting) throw new AsyncgateError('shutting-down', undefined, { headers: { 'retry-after': '5' } });
    if (this.queuedEstimate >= this.maxQueued) {
      throw new AsyncgateError('queue-full', `${this.queuedEstimate} jobs are waiting`, { headers: { 'retry-after': '5' } });
    }
    // A copy of the options: the caller's object may be shared (it is fresh per request today).
    if (job.callbacks?.length) job.options = { ...job.options, callbackHosts: job.callbacks.map((cb) => callbackHost(cb.url)) };
    // A free slot and no queue: commit the job already running here and start it at once (one commit, no
    // claim). Otherwise it is committed queued and the claim loop takes it in turn; one not runnable yet
    // (NewJob.runAt) is queued, and the claim loop looks again when its time comes. A grouped one (NewJob.group)
    // is always queued: only the claim knows its group's bounds, and the claim loop looks at once.
    const notBefore = job.runAt !== undefined && job.runAt > job.createdAt ? job.runAt : undefined;
    const direct = notBefore === undefined && job.group === undefined && this.jobs.reserve();
    let outcome: InsertOutcome;
    try {
      outcome = await this.store.insertJob(job, direct ? { owner: this.workerId, now: job.createdAt, leaseMs: this.leaseMs } : undefined);
    } catch (error) {
      // A StorageFullError (no space left) goes up as it is: the HTTP side answers it 507 + Retry-After.
      if (direct) this.jobs.unreserve();
      throw error;
    }
    if (outcome.created) this.metrics.accepted(job.dialect);
    if (direct && outcome.created && outcome.job.state === 'running') {
      this.jobs.runReserved(outcome.job);
      this.events.emit(outcome.job);
      return outcome;
    }
    if (direct) this.jobs.unreserve();
    if (outcome.created) {
      this.queuedEstimate++;
      if (notBefore === undefined) this.jobs.lookForWork();
      else this.jobs.wakeAt(notBefore);
    }
    // Announce the new job (the admin event stream shows it; nobody waits on an id not yet given out).
    if (outcome.created) this.events.emit(outcome.job);
    return outcome;
  }

  /** A new job's id: in the shard the store puts this owner's job with this Idempotency-Key, or the jobs of this
   * group, which wins over the key (JobStore.shardFor). */
  newJobId(owner: string | null, idempotencyKey: string | undefined, group?: string): string {
    return newJobId(Date.now(), this.store.shardFor?.(owner, idempotencyKey ?? null, group));
  }

  /** A job group was resumed or its bounds widened (JobStore.putGroup): its queued jobs may run now. */
  groupChanged(): void {
    this.jobs.lookForWork();
  }

  /** Hand finished jobs' callbacks straight to the delivery side (see CallbackHandoff). */
  handOffCallbacksTo(handoff: CallbackHandoff): void {
    this.runnerDeps.callbacks = handoff;
  }

  getJob(id: string): Promise<Job | null> {
    return this.store.getJob(id);
  }

  /** Resolve when the job reaches a terminal state or `timeoutMs` passes (then with its current state). */
  waitForTerminal(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Job | null> {
    return this.waitUntil(id, (j) => TERMINAL_STATES.has(j.state), timeoutMs, signal);
  }

  /** Resolve on the next change after `version`, or after `timeoutMs` (long poll). */
  waitForChange(id: string, version: number, timeoutMs: number, signal?: AbortSignal): Promise<Job | null> {
    return this.waitUntil(id, (j) => j.version !== version, timeoutMs, signal);
  }

  private async waitUntil(
    id: string,
    accept: (job: Job) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Job | null> {
    // One controller linked by hand rather than AbortSignal.any: a composed signal per waiter is more objects,
    // held until collected, and thousands of long polls each wait here (bench section E).
    const gaveUp = new AbortController();
    const onAbort = () => gaveUp.abort();
    if (signal?.aborted) gaveUp.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.waiting++;
    try {
      const changed = this.events.waitFor(id, accept, timeoutMs, gaveUp.signal);
      // Subscribe first, then read: a change between the two is not missed.
      const current = await this.store.getJob(id);
      if (!current || accept(current)) {
        gaveUp.abort();
        return current;
      }
      const job = await changed;
      return job === undefined ? this.store.getJob(id) : job;
    } finally {
      this.waiting--;
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Record progress reported from outside the attempt (the upstream's progress endpoint) and wake its
   * watchers. null when the job is gone or already finished: the store never moves a finished job.
   */
  async reportProgress(id: string, progress: JobProgress): Promise<Job | null> {
    const job = await this.store.updateProgress(id, progress, Date.now());
    if (job) this.events.emit(job);
    return job;
  }

  /** Cancel a job: a queued one never runs; a running one has its upstream request aborted. */
  async cancel(id: string, retentionMs: number): Promise<Job | null> {
    const job = await this.store.cancelJob(
      id,
      { code: 'canceled', message: JOB_ERROR_CODES.canceled },
      Date.now(),
      retentionMs,
    );
    if (job?.state === 'canceled') {
      this.metrics.finished(job);
      this.jobs.abort(id, 'canceled');
      this.runnerDeps.callbacks?.lookForWork();
      this.events.emit(job);
    }
    return job;
  }

  /**
   * Run a Failed or Canceled job again (an operator's retry): queued, due at once, same id and callbacks.
   * null when there is no such job; `retried` false (the job unchanged) when it is in another state.
   */
  async retry(id: string): Promise<RetryOutcome | null> {
    const out = await this.store.retryJob(id, Date.now());
    if (out?.retried) this.requeued([out.job]);
    return out;
  }

  /** `retry` up to `limit` jobs matching the filter (only Failed or Canceled ones count). Returns them. */
  async retryMatching(filter: JobFilter, limit: number): Promise<Job[]> {
    const jobs = await this.store.retryJobs(filter, limit, Date.now());
    this.requeued(jobs);
    return jobs;
  }

  /** Jobs put back in the queue from outside a run: their watchers see it, and the claim loop looks now. */
  private requeued(jobs: readonly Job[]): void {
    if (jobs.length === 0) return;
    this.queuedEstimate += jobs.length;
    for (const job of jobs) this.events.emit(job);
    this.jobs.lookForWork();
  }

  /** Cancel if running, then forget the job and its result, leaving a tombstone (410). */
  async delete(id: string): Promise<boolean> {
    const now = Date.now();
    this.jobs.abort(id, 'canceled');
    const deleted = await this.store.deleteJob(id, now, now + this.tombstoneMs);
    if (deleted) this.events.emitGone(id);
    return deleted;
  }

  readResult(id: string, range?: { start: number; end: number }): AsyncIterable<Uint8Array> {
    return this.store.readResult(id, range);
  }

  /** The owner of a deleted or expired job's tombstone (null: it had none), or undefined when there is none. */
  tombstoneOwner(id: string): Promise<string | null | undefined> {
    return this.store.tombstoneOwner(id, Date.now());
  }

  get stats() {
    return { running: this.jobs.active, queued: this.queuedEstimate, watched: this.events.watched };
  }

  /** Waits for a job's change in progress here (long polls, waiting clients of library mode). */
  get waiters(): number {
    return this.waiting;
  }

  /** Stop taking jobs; let running attempts finish for `graceMs`, then hand back what is left. */
  async stop(graceMs = 10_000): Promise<void> {
    this.accepting = false;
    this.unlisten?.();
    clearInterval(this.queuedRefresh);
    this.maintenance.stop();
    await this.jobs.stop(graceMs);
    const out = await this.store.releaseLeases(this.workerId, Date.now(), INTERRUPTED);
    this.metrics.failedUnseen(INTERRUPTED.code, out.failed.length);
    if (out.requeued.length || out.failed.length) {
      this.log.info({ requeued: out.requeued.length, failed: out.failed.length }, 'handed back leases');
    }
  }

  /**
   * Another process that held leases on this store is gone (a worker the cluster's primary saw exit): hand
   * its jobs back now, as a rescue would once its leases lapsed: retryable ones requeued, the others failed.
   */
  async handBackLeasesOf(workerId: string): Promise<void> {
    const out = await this.store.releaseLeases(workerId, Date.now(), INTERRUPTED);
    this.metrics.failedUnseen(INTERRUPTED.code, out.failed.length);
    if (out.requeued.length || out.failed.length || out.deliveries) {
      this.log.warn({ worker: workerId, requeued: out.requeued.length, failed: out.failed.length, deliveries: out.deliveries ?? 0 }, 'took over the leases of a worker that exited');
    }
    if (out.requeued.length) this.jobs.lookForWork();
  }

  /** For tests and the admin API: run the periodic duties now. */
  get duties(): Pick<Maintenance, 'rescue' | 'sweep' | 'heartbeat'> {
    return this.maintenance;
  }

  private async refreshQueued(): Promise<void> {
    this.queuedEstimate = await this.store.countQueued();
  }
}
