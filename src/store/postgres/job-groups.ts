/**
 * The PostgreSQL store's job groups (migration 10, JobGroup in port.ts): their records, one statement each. The
 * claim that keeps to their bounds is the function asyncgate_claim_jobs (schema.ts). The store class extends it,
 * so postgres-store.ts keeps to a job's life.
 */
import type pg from 'pg';
import type { JobGroup, JobGroupRecord } from '../port.js';
import { groupColumns, rowToGroup, type GroupRow } from '../rows.js';

// The lag: a group's queued and running jobs, counted in jobs_group.
const WITH_LAG = `SELECT g.*, (SELECT count(*) FROM jobs WHERE grp = g.key AND state IN ('queued', 'running'))::int AS lag
  FROM job_groups g`;

const SQL = {
  // Bounds replaced; the rate's window kept (a new rate applies to the claims left in it). Other processes are
  // told there may be work (payload 'w'): a group resumed or widened lets its jobs run.
  putGroup: `WITH up AS (
      INSERT INTO job_groups (key, parallelism, fifo, rate, period_ms, paused, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
      ON CONFLICT (key) DO UPDATE SET parallelism = excluded.parallelism, fifo = excluded.fifo, rate = excluded.rate,
        period_ms = excluded.period_ms, paused = excluded.paused, updated_at = excluded.updated_at
      RETURNING key)
    SELECT pg_notify('asyncgate.' || current_schema(), 'w') FROM up`,
  group: `${WITH_LAG} WHERE g.key = $1`,
  groups: `${WITH_LAG} WHERE starts_with(g.key, $1) ORDER BY g.key`,
  deleteGroup: `DELETE FROM job_groups WHERE key = $1 RETURNING key`,
} as const;

export abstract class PgGroupStore {
  /** Run a statement, retried on a new connection when one is lost (the store's). */
  protected abstract execute<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;

  private async groupQuery<R extends pg.QueryResultRow>(name: keyof typeof SQL, values: unknown[]): Promise<R[]> {
    return (await this.execute<R>({ name: `jobGroups.${name}`, text: SQL[name], values })).rows;
  }

  async putGroup(group: JobGroup, now: number): Promise<void> {
    const c = groupColumns(group);
    await this.groupQuery('putGroup', [c.key, c.parallelism, c.fifo, c.rate, c.period_ms, c.paused, now]);
  }

  async group(key: string): Promise<JobGroupRecord | null> {
    const [row] = await this.groupQuery<GroupRow & pg.QueryResultRow>('group', [key]);
    return row ? rowToGroup(row) : null;
  }

  async groups(prefix: string): Promise<JobGroupRecord[]> {
    return (await this.groupQuery<GroupRow & pg.QueryResultRow>('groups', [prefix])).map(rowToGroup);
  }

  async deleteGroup(key: string): Promise<boolean> {
    return (await this.groupQuery('deleteGroup', [key])).length > 0;
  }
}
