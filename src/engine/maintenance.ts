import type { Logger } from 'pino';
import { JOB_ERROR_CODES, type JobError } from '../model.js';
import type { JobStore, RescueOutcome } from '../store/port.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { JobEvents } from './events.js';

export const INTERRUPTED: JobError = { code: 'upstream-interrupted', message: JOB_ERROR_CODES['upstream-interrupted'] };

export interface MaintenanceOptions {
  workerId: string;
  /** The jobs whose attempts are running in this process right now: the only job leases the heartbeat renews. */
  runningJobs: () => readonly string[];
  leaseMs: number;
  rescueEveryMs: number;
  sweepEveryMs: number;
  sweepBatch: number;
  tombstoneMs: number;
  metrics: Metrics;
}

/**
 * The background duties of a process: renew its leases (heartbeat), rescue jobs whose lease expired
 * because their process died (or their attempt ended here without its completion stored), and purge expired
 * jobs a batch at a time (incremental, so a large backlog never blocks the event loop for long).
 */
export class Maintenance {
  private timers: NodeJS.Timeout[] = [];
  /** When the last heartbeat committed. */
  private renewedAt = 0;

  constructor(
    private readonly store: JobStore,
    private readonly events: JobEvents,
    private readonly options: MaintenanceOptions,
    private readonly log: Logger,
    private readonly onRequeued: () => void,
    /** Callbacks became due (jobs failed as interrupted, or delivery leases lapsed). */
    private readonly onCallbacksDue: () => void,
  ) {}

  start(): void {
    const every = (ms: number, fn: () => Promise<unknown>) => {
      let busy = false;
      const t = setInterval(() => {
        if (busy) return;
        busy = true;
        fn()
          .catch((error: unknown) => this.log.error({ err: error }, 'maintenance task failed'))
          .finally(() => (busy = false));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(Math.max(100, Math.floor(this.options.leaseMs / 3)), () => this.heartbeat());
    every(this.options.rescueEveryMs, () => this.rescue());
    every(this.options.sweepEveryMs, () => this.sweep());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Renew the leases of this process's deliveries and of the attempts running here, and only those. */
  async heartbeat(): Promise<number> {
    const now = Date.now();
    const n = await this.store.renewLeases(this.options.workerId, this.options.runningJobs(), now, this.options.leaseMs);
    this.renewedAt = now;
    return n;
  }

  async rescue(): Promise<RescueOutcome> {
    // Renew ours first if the heartbeat has been failing (an outage longer than a lease): this process must not
    // rescue the attempts it is still running, whose ending writes are being retried.
    if (Date.now() - this.renewedAt > this.options.leaseMs / 2) await this.heartbeat();
    const out = await this.store.rescueExpiredLeases(Date.now(), 500, INTERRUPTED);
    this.options.metrics.failedUnseen(INTERRUPTED.code, out.failed.length);
    if (out.requeued.length || out.failed.length) {
      this.log.warn({ requeued: out.requeued.length, failed: out.failed.length }, 'rescued jobs from expired leases');
      await this.announce(out);
      if (out.requeued.length) this.onRequeued();
    }
    if (out.failed.length || out.deliveries) this.onCallbacksDue();
    return out;
  }

  async announce(out: RescueOutcome): Promise<void> {
    for (const id of [...out.requeued, ...out.failed]) {
      const job = await this.store.getJob(id);
      if (job) this.events.emit(job);
    }
  }

  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.store.sweep(Date.now(), this.options.sweepBatch, this.options.tombstoneMs);
      total += n;
      if (n < this.options.sweepBatch) break;
      await new Promise((r) => setImmediate(r)); // let requests through between batches
    }
    if (total) this.log.info({ purged: total }, 'purged expired jobs');
    return total;
  }
}
