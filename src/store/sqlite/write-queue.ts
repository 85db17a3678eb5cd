import type { Database } from 'better-sqlite3';

interface Pending {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Makes everything committed so far durable (fdatasync of the WAL), off the event loop. */
export type SyncFn = () => Promise<void>;

/**
 * Group commit with the fsync off the event loop. Writes queued while the previous batch is being synced run
 * together in one transaction; its COMMIT writes the WAL (synchronous=NORMAL: no fsync inside SQLite), then
 * `sync` fdatasyncs the WAL on libuv's thread pool, and only then do the writes' promises settle. So a write
 * is acknowledged only once it is on disk, exactly as with synchronous=FULL, but the event loop keeps serving
 * while the disk works, and a slow disk makes batches bigger instead of stalling everything.
 *
 * At most one sync is in flight, and no batch commits during it; `durable()` lets reads wait for it, so a
 * read never shows a change that a crash could still undo. A batch that changed nothing (a claim that found
 * nothing) settles without a sync. Writes rarely fail, so a batch runs without
 * per-write savepoints; if one throws, the whole transaction rolls back and every write of the batch runs
 * again in a transaction of its own, so the failing one rejects alone. If a sync fails, the queue stops
 * (every later write rejects): after a failed fsync the kernel may have dropped the pages, and a later
 * fsync could succeed without them.
 */
export class WriteQueue {
  private pending: Pending[] = [];
  private scheduled = false;
  private syncing: Promise<void> | undefined;
  private broken: unknown;
  private readonly runOne: (fn: () => unknown) => unknown;
  private readonly runBatch: (batch: Pending[]) => unknown[];
  private readonly totalChanges: () => number;
  /** Batches committed and writes in them, for metrics and benchmarks. */
  readonly stats = { batches: 0, writes: 0, retriedBatches: 0, syncs: 0 };

  constructor(
    db: Database,
    private readonly sync: SyncFn,
    private readonly maxBatch = 1000,
  ) {
    this.runOne = db.transaction((fn: () => unknown) => fn());
    this.runBatch = db.transaction((batch: Pending[]) => batch.map((p) => p.fn()));
    const changes = db.prepare('SELECT total_changes()').pluck();
    this.totalChanges = () => changes.get() as number;
  }

  /** Run `fn` (synchronous SQL) in the next group commit; settles once that commit is on disk. */
  write<T>(fn: () => T): Promise<T> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Resolves once everything committed so far is on disk; undefined when it already is. Never rejects. */
  durable(): Promise<void> | undefined {
    return this.syncing;
  }

  /** Commit and sync everything queued, waiting for a sync in flight first (used on close). */
  async drain(): Promise<void> {
    while (this.syncing || this.pending.length) {
      if (this.syncing) await this.syncing;
      else this.flush();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.syncing) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commit what is queued (several transactions if more than maxBatch), then sync once. */
  private flush(): void {
    this.scheduled = false;
    if (this.syncing) return; // a stale turn (drain() flushed first): the sync's end schedules the next
    const changesBefore = this.totalChanges();
    const done: Array<{ p: Pending; value: unknown }> = [];
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
        for (let i = 0; i < batch.length; i++) done.push({ p: batch[i]!, value: results[i] });
        continue;
      }
      for (const p of batch) {
        try {
          done.push({ p, value: this.runOne(p.fn) });
          this.stats.batches++;
        } catch (error) {
          p.reject(error); // rolled back: nothing of it to make durable
        }
      }
    }
    if (done.length === 0) return;
    if (this.totalChanges() === changesBefore) {
      // Nothing was written (e.g. claims that found nothing): what they read was synced before this batch.
      for (const d of done) d.p.resolve(d.value);
      return;
    }
    this.stats.syncs++;
    this.syncing = this.sync()
      .then(
        () => {
          for (const d of done) d.p.resolve(d.value);
        },
        (error: unknown) => {
          this.broken = error;
          for (const d of done) d.p.reject(error);
          for (const p of this.pending.splice(0)) p.reject(error);
        },
      )
      .finally(() => {
        this.syncing = undefined;
        // Not synchronously: reads waiting in durable() run first, before the next batch commits.
        if (this.pending.length) this.schedule();
      });
  }
}
