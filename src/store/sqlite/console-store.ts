/**
 * The operator console's part of the SQLite store (lists, search, retries, overview, deliveries by filter):
 * the store class extends it, so sqlite-store.ts keeps to a job's life. Each method is one read or one write
 * of the store's queue, like every other operation.
 */
import type Database from 'better-sqlite3';
import type { Delivery, Job } from '../../model.js';
import type { DeliveryFilter, DeliveryListQuery, JobFilter, JobListQuery, RetryOutcome, StoreOverview } from '../port.js';
import { rowToDelivery, rowToJob, type JobRow } from '../rows.js';
import { SqliteAdminQueries } from './admin-queries.js';
import type { WriteQueue } from './write-queue.js';

export abstract class SqliteConsoleStore {
  abstract readonly db: Database.Database;
  abstract readonly writes: WriteQueue;
  private prepared: SqliteAdminQueries | undefined;

  private get admin(): SqliteAdminQueries {
    return (this.prepared ??= new SqliteAdminQueries(this.db));
  }

  listJobs(q: JobListQuery): Promise<Job[]> {
    return this.writes.read(() => this.admin.listJobs(q).map(rowToJob));
  }

  countJobs(filter: JobFilter, upTo: number): Promise<number> {
    return this.writes.read(() => this.admin.countJobs(filter, upTo));
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

  overview(since: number, failingSince: number): Promise<StoreOverview> {
    return this.writes.read(() => this.admin.overview(since, failingSince));
  }

  listDeliveries(q: DeliveryListQuery): Promise<Delivery[]> {
    return this.writes.read(() => this.admin.listDeliveries(q).map(rowToDelivery));
  }

  countDeliveries(filter: DeliveryFilter, upTo: number): Promise<number> {
    return this.writes.read(() => this.admin.countDeliveries(filter, upTo));
  }

  redeliverFailedSince(since: number, now: number, options: { host?: string; limit?: number } = {}): Promise<number> {
    return this.writes.write(() => this.admin.redeliverFailed(since, now, options.host, options.limit));
  }
}
