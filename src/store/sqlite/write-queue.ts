import type { Database } from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { isBusy, storeError } from './sqlite-errors.js';

interface Pending {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** When it was queued (Date.now()), for the limit on waiting for the lock. */
  since: number;
}

/** The longest pause between two tries at another connection's lock: short, so a released lock is taken soon. */
const MAX_LOCK_PAUSE_MS = 50;

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
 * again in a transaction of its own, so the failing one rejects alone (SQLITE_FULL, out of space, as
 * StorageFullError: rolled back, so it may be tried again). If a sync fails, the queue stops (every later write
 * rejects): after a failed fsync the kernel may have dropped the pages, and a later fsync could succeed
 * without them. That includes ENOSPC from the fdatasync: the batch is committed by then and cannot be rolled
 * back (file systems that allocate at write(), as ext4, xfs and tmpfs do, report a full disk as SQLITE_FULL).
 *
 * Several processes may share the file. SQLite's busy_timeout would wait for another's write lock inside the
 * statement, holding the event loop (and health checks, reads, everything) for as long as the lock is held,
 * so the store sets it to 0: a batch starts with BEGIN IMMEDIATE, and if the lock is taken, the batch goes
 * back to the head of the queue and is tried again after a short pause (setTimeout, 1 ms doubling to 50 ms),
 * in order, joined by whatever was queued meanwhile. A write that has waited `lockWaitMs` for the lock
 * rejects with SQLITE_BUSY, as busy_timeout would have failed it.
 */
export class WriteQueue {
  private pending: Pending[] = [];
  private scheduled = false;
  private syncing: Promise<void> | undefined;
  /** Set while pausing before the next try at a lock another connection holds. */
  private waiting: Promise<void> | undefined;
  private lockTries = 0;
  private broken: unknown;
  private readonly runOne: (fn: () => unknown) => unknown;
  private readonly runBatch: (batch: Pending[]) => unknown[];
  private readonly totalChanges: () => number;
  /** Batches committed and writes in them, for metrics and benchmarks. */
  readonly stats = { batches: 0, writes: 0, retriedBatches: 0, syncs: 0, lockWaits: 0 };
  /** Told of each group commit once durable: seconds from its start, writes in it. */
  onCommit: ((seconds: number, writes: number) => void) | undefined;

  constructor(
    db: Database,
    private readonly sync: SyncFn,
    private readonly maxBatch = 1000,
    private readonly lockWaitMs = 5_000,
  ) {
    // IMMEDIATE: the write lock is taken at BEGIN, so a busy lock fails the batch before any of it ran.
    this.runOne = db.transaction((fn: () => unknown) => fn()).immediate;
    this.runBatch = db.transaction((batch: Pending[]) => batch.map((p) => p.fn())).immediate;
    const changes = db.prepare('SELECT total_changes()').pluck();
    this.totalChanges = () => changes.get() as number;
  }

  /** Run `fn` (synchronous SQL) in the next group commit; settles once that commit is on disk. */
  write<T>(fn: () => T): Promise<T> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject, since: Date.now() });
      this.schedule();
    });
  }

  /**
   * Run `fn` (synchronous SQL that only reads) once everything committed so far is on disk. Reads in WAL mode
   * need no lock another process could hold for long; if one is busy all the same (WAL recovery), it is
   * tried again after a pause rather than waited for on the event loop.
   */
  async read<T>(fn: () => T): Promise<T> {
    const since = Date.now();
    for (let tries = 0; ; tries++) {
      await this.syncing;
      try {
        return fn();
      } catch (error) {
        if (!isBusy(error) || Date.now() - since >= this.lockWaitMs) throw storeError(error);
        await sleep(Math.min(2 ** tries, MAX_LOCK_PAUSE_MS));
      }
    }
  }

  /** Resolves once everything committed so far is on disk; undefined when it already is. Never rejects. */
  durable(): Promise<void> | undefined {
    return this.syncing;
  }

  /** Commit and sync everything queued, waiting for a sync in flight first (used on close). */
  async drain(): Promise<void> {
    while (this.syncing || this.waiting || this.pending.length) {
      if (this.syncing) await this.syncing;
      else if (this.waiting) await this.waiting;
      else this.flush();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.syncing || this.waiting) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commit what is queued (several transactions if more than maxBatch), then sync once. */
  private flush(): void {
    this.scheduled = false;
    // A stale turn (drain() flushed first, or a pause for the lock is on): the sync's or pause's end flushes.
    if (this.syncing || this.waiting) return;
    const started = performance.now();
    const changesBefore = this.totalChanges();
    const done: Array<{ p: Pending; value: unknown }> = [];
    let busy: unknown;
    while (this.pending.length && busy === undefined) busy = this.commit(this.pending.splice(0, this.maxBatch), done);
    if (busy === undefined) this.lockTries = 0;
    else this.pauseForLock(busy);
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
          this.onCommit?.((performance.now() - started) / 1000, done.length);
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

  /**
   * Commit `batch` in one transaction, or if that fails write by write, adding what committed to `done`. If
   * another connection holds the write lock, puts what it did not run back at the head of the queue and
   * returns the busy error.
   */
  private commit(batch: Pending[], done: Array<{ p: Pending; value: unknown }>): unknown {
    try {
      const results = this.runBatch(batch);
      this.stats.batches++;
      this.stats.writes += batch.length;
      for (let i = 0; i < batch.length; i++) done.push({ p: batch[i]!, value: results[i] });
      return undefined;
    } catch (error) {
      if (isBusy(error)) {
        this.pending.unshift(...batch);
        return error;
      }
      this.stats.retriedBatches++;
    }
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      try {
        done.push({ p, value: this.runOne(p.fn) });
        this.stats.batches++;
      } catch (error) {
        if (isBusy(error)) {
          this.pending.unshift(...batch.slice(i));
          return error;
        }
        p.reject(storeError(error)); // rolled back: nothing of it to make durable
      }
      this.stats.writes++;
    }
    return undefined;
  }

  /** Try the queue again after a pause, failing first the writes that have waited `lockWaitMs` for the lock. */
  private pauseForLock(busy: unknown): void {
    const now = Date.now();
    while (this.pending.length && now - this.pending[0]!.since >= this.lockWaitMs) this.pending.shift()!.reject(busy);
    if (this.pending.length === 0) return;
    this.stats.lockWaits++;
    const pause = Math.min(2 ** this.lockTries++, MAX_LOCK_PAUSE_MS);
    this.waiting = new Promise((resolve) =>
      setTimeout(() => {
        this.waiting = undefined;
        resolve();
        this.flush();
      }, pause),
    );
  }
}
