import type { Database } from 'better-sqlite3';

interface Pending {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit. Writes queued during one turn of the event loop run in a single transaction, so one fsync
 * (synchronous=FULL) makes a whole batch durable. Each write runs inside its own SAVEPOINT: one that throws
 * is rolled back alone and rejects alone; the rest of the batch still commits. Promises settle only after
 * COMMIT returns, i.e. after the batch is on disk.
 */
export class WriteQueue {
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly runNested: (fn: () => unknown) => unknown;
  private readonly runBatch: (batch: Pending[]) => Array<{ ok: boolean; value: unknown }>;
  /** Batches committed and writes in them, for metrics and benchmarks. */
  readonly stats = { batches: 0, writes: 0 };

  constructor(
    db: Database,
    private readonly maxBatch = 1000,
  ) {
    this.runNested = db.transaction((fn: () => unknown) => fn());
    this.runBatch = db.transaction((batch: Pending[]) =>
      batch.map((p) => {
        try {
          return { ok: true, value: this.runNested(p.fn) };
        } catch (error) {
          return { ok: false, value: error };
        }
      }),
    );
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
      let results: Array<{ ok: boolean; value: unknown }>;
      try {
        results = this.runBatch(batch);
      } catch (error) {
        for (const p of batch) p.reject(error);
        continue;
      }
      this.stats.batches++;
      this.stats.writes += batch.length;
      batch.forEach((p, i) => {
        const r = results[i]!;
        if (r.ok) p.resolve(r.value);
        else p.reject(r.value);
      });
    }
  }
}
