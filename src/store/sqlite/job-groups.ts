/**
 * The SQLite store's job groups (migration 12, JobGroup in port.ts): their records, and the claim that keeps to
 * their bounds (group-claim.ts). The store class extends it, so sqlite-store.ts keeps to a job's life.
 */
import type { Job } from '../../model.js';
import type { JobGroup, JobGroupRecord } from '../port.js';
import { groupColumns, rowToGroup, type GroupRow } from '../rows.js';
import { SqliteConsoleStore } from './console-store.js';
import { JobClaimer } from './group-claim.js';
import { prepareEach, type Prepared } from './sql.js';

// The lag: a group's queued and running jobs, counted in jobs_group.
const WITH_LAG = `SELECT g.*, (SELECT count(*) FROM jobs INDEXED BY jobs_group
    WHERE grp = g.key AND state IN ('queued', 'running')) AS lag FROM job_groups AS g`;

const SQL = {
  // Bounds replaced; the rate's window kept (a new rate applies to the claims left in it).
  put: `INSERT INTO job_groups (key, parallelism, fifo, rate, period_ms, paused, created_at, updated_at)
    VALUES (@key, @parallelism, @fifo, @rate, @period_ms, @paused, @now, @now)
    ON CONFLICT (key) DO UPDATE SET parallelism = excluded.parallelism, fifo = excluded.fifo, rate = excluded.rate,
      period_ms = excluded.period_ms, paused = excluded.paused, updated_at = excluded.updated_at`,
  get: `${WITH_LAG} WHERE g.key = ?`,
  byPrefix: `${WITH_LAG} WHERE substr(g.key, 1, length(@prefix)) = @prefix ORDER BY g.key`,
  delete: `DELETE FROM job_groups WHERE key = ?`,
} as const;

export abstract class SqliteGroupStore extends SqliteConsoleStore {
  private groupSql: Prepared<typeof SQL> | undefined;
  private jobClaimer: JobClaimer | undefined;

  private get groupStatements(): Prepared<typeof SQL> {
    return (this.groupSql ??= prepareEach(this.db, SQL));
  }

  /** Inside a write: claim due jobs, grouped ones within their group's bounds (group-claim.ts). */
  protected claimDue(owner: string, limit: number, now: number, leaseMs: number, dueBy: number): Job[] {
    return (this.jobClaimer ??= new JobClaimer(this.db)).claim(owner, limit, now, leaseMs, dueBy);
  }

  putGroup(group: JobGroup, now: number): Promise<void> {
    const c = groupColumns(group);
    return this.writes.write(() => void this.groupStatements.put.run({ ...c, fifo: c.fifo ? 1 : 0, paused: c.paused ? 1 : 0, now }));
  }

  group(key: string): Promise<JobGroupRecord | null> {
    return this.writes.read(() => {
      const row = this.groupStatements.get.get(key) as GroupRow | undefined;
      return row ? rowToGroup(row) : null;
    });
  }

  groups(prefix: string): Promise<JobGroupRecord[]> {
    return this.writes.read(() => (this.groupStatements.byPrefix.all({ prefix }) as GroupRow[]).map(rowToGroup));
  }

  deleteGroup(key: string): Promise<boolean> {
    return this.writes.write(() => this.groupStatements.delete.run(key).changes > 0);
  }
}
