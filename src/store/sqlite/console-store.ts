/**
 * The operator console's part of the SQLite store (lists, search, retries, overview, deliveries by filter):
 * the store class extends it, so sqlite-store.ts keeps to a job's life. Writes (retries, redelivery) go
 * through the store's queue like every other write. Reads run on the reader thread (console-reader.ts), off
 * the event loop, once the last commit is on disk; a database in memory has no file another connection
 * could open, so there they run in-thread like the store's own reads.
 */
import type Database from 'better-sqlite3';
import type { Delivery, Job } from '../../model.js';
import type { DeliveryFilter, DeliveryListQuery, JobFilter, JobListQuery, RetryOutcome, StoreGauges, StoreOverview, CommitObserver } from '../port.js';
import { rowToJob, type JobRow } from '../rows.js';
import { SqliteAdminQueries } from './admin-queries.js';
import type { ConsoleReader } from './console-reader.js';
import { fromThread, runRead, type ConsoleRead, type ReadArgs, type ReadResult } from './console-reads.js';
import type { WriteQueue } from './write-queue.js';

export abstract class SqliteConsoleStore {
  abstract readonly db: Database.Database;
  abstract readonly writes: WriteQueue;
  /** The reader thread; undefined for a database in memory. */
  protected abstract readonly reader: ConsoleReader | undefined;
  private prepared: SqliteAdminQueries | undefined;

  private get admin(): SqliteAdminQueries {
    return (this.prepared ??= new SqliteAdminQueries(this.db));
  }

  /** A console read, on the reader thread once what is committed is on disk (or in-thread, see above). */
  private async consoleRead<K extends ConsoleRead>(op: K, ...args: ReadArgs<K>): Promise<ReadResult<K>> {
    if (!this.reader) return this.writes.read(() => runRead(this.admin, op, args));
    const syncing = this.writes.durable();
    if (syncing) await syncing;
    return fromThread(op, await this.reader.read(op, args));
  }

  listJobs(q: JobListQuery): Promise<Job[]> {
    return this.consoleRead('listJobs', q);
  }

  countJobs(filter: JobFilter, upTo: number): Promise<number> {
    return this.consoleRead('countJobs', filter, upTo);
  }

  retryJob(id: string, now: number): Promise<RetryOutcome | null> {
    return this.writes.write(() => {
      const row = this.admin.retry(id, now);
      if (row) return { job: rowToJob(row), retried: true };
      const current = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
      return current ? { job: rowToJob(current), retried: false } : null;
    });
  }

  retryJobs(filter: JobFilter, limit: number, now: number): Promise<Job[]> {
    return this.writes.write(() => this.admin.retryMany(filter, limit, now).map(rowToJob));
  }

  overview(since: number, failingSince: number, settleAt: number): Promise<StoreOverview> {
    return this.consoleRead('overview', since, failingSince, settleAt);
  }

  async schemaVersion(): Promise<number> {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  observeCommits(observer: CommitObserver): void {
    this.writes.onCommit = observer;
  }

  gauges(): Promise<StoreGauges> {
    return this.consoleRead('gauges');
  }

  listDeliveries(q: DeliveryListQuery): Promise<Delivery[]> {
    return this.consoleRead('listDeliveries', q);
  }

  countDeliveries(filter: DeliveryFilter, upTo: number): Promise<number> {
    return this.consoleRead('countDeliveries', filter, upTo);
  }

  redeliverFailedSince(since: number, now: number, options: { host?: string; limit?: number } = {}): Promise<number> {
    return this.writes.write(() => this.admin.redeliverFailed(since, now, options.host, options.limit));
  }
}
