import type { Database } from 'better-sqlite3';

interface Pending {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit. Writes queued during one turn of the event loop run in a single transaction, so one fsync
 * (synchronous=FULL) makes a whole batch durable. Promises settle only after COMMIT returns, i.e. after the
 * batch is on disk. Writes rarely fail, so the batch runs without per-write savepoints (they cost more than
 * the inserts); if one throws, the whole transaction rolls back and every write of the batch is run again in
 * a transaction of its own, so the failing one rejects alone and the others commit.
 */
export class WriteQueue {
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly runOne: (fn: () => unknown) => unknown;
  private readonly runBatch: (batch: Pending[]) => unknown[];
  /** Batches committed and writes in them, for metrics and benchmarks. */
  readonly stats = { batches: 0, writes: 0, retriedBatches: 0 };

  constructor(
    db: Database,
    private readonly maxBatch = 1000,
  ) {
    this.runOne = db.transaction((fn: () => unknown) => fn());
    this.runBatch = db.transaction((batch: Pending[]) => batch.map((p) => p.fn()));
  }

  /** Run `fn` (synchronous SQL) in the next group commit. */
  write<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commit everything queued now (also used on close). */
  flush(): void {
    this.scheduled = false;
    while (this.pending.length) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.stats.writes += batch.length;
      let results: unknown[] | undefined;
      try {
        results = this.runBatch(batch);
        this.stats.batches++;
      } catch {
        this.stats.retriedBatches++;
      }
      if (results) {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]);
        continue;
      }
      for (const p of batch) {
        try {
          const value = this.runOne(p.fn);
          this.stats.batches++;
          p.resolve(value);
        } catch (error) {
          p.reject(error);
        }
      }
    }
  }
}
