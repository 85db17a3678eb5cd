import type { Statement } from 'better-sqlite3';
import type { Job } from '../../model.js';
import { rowToJob, type JobRow } from '../rows.js';
import { QUEUED_GROUPS } from '../sqlite/queued-sql.js';
import type { SqliteJobStore } from '../sqlite/sqlite-store.js';

/**
 * Reads a worker makes in another worker's shard to decide whether to write there at all: a write takes the
 * file's lock, which its owner would then wait for, so the answer "nothing to do" must cost only a read
 * (WAL readers never wait for a writer, nor make it wait).
 */
export class ShardPeeks {
  private readonly keyed: Statement;
  private readonly stale: Statement;
  private readonly lapsed: Statement;
  private readonly due: Statement;
  private readonly firstDelivery: Statement;

  constructor(store: SqliteJobStore) {
    this.keyed = store.db.prepare(`SELECT * FROM jobs WHERE coalesce(owner, '') = ? AND idempotency_key = ?`);
    // An ungrouped job due since then, or a grouped one in a group with none running and not paused (a group
    // held back by its running jobs is its owner's to advance once they end, or the rescue's once their leases
    // lapse: no reason to take the shard's lock). One seek per group with queued jobs.
    this.stale = store.db.prepare(
      `${QUEUED_GROUPS}
      SELECT EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_ready WHERE state = 'queued' AND grp IS NULL AND run_at <= @dueBy)
        OR EXISTS (SELECT 1 FROM queued_groups AS q WHERE q.grp IS NOT NULL
          AND (SELECT j.run_at FROM jobs AS j INDEXED BY jobs_group_due WHERE j.state = 'queued' AND j.grp IS NOT NULL
            AND j.grp = q.grp ORDER BY j.run_at LIMIT 1) <= @dueBy
          AND NOT EXISTS (SELECT 1 FROM jobs AS r INDEXED BY jobs_group WHERE r.grp = q.grp AND r.state = 'running')
          AND NOT EXISTS (SELECT 1 FROM job_groups AS g WHERE g.key = q.grp AND g.paused = 1))`,
    ).pluck();
    this.lapsed = store.db.prepare(
      `SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'running' AND lease_expires_at < @now)
           OR EXISTS (SELECT 1 FROM deliveries WHERE state = 'delivering' AND lease_expires_at < @now) AS n`,
    ).pluck();
    // Ungrouped jobs only: a group's may be held back (its claim fills up what these leave).
    this.due = store.db.prepare(
      `SELECT run_at AS at, id FROM jobs INDEXED BY jobs_ready WHERE state = 'queued' AND grp IS NULL AND run_at <= ? ORDER BY run_at LIMIT ?`,
    );
    // The claimer's order (delivery-claim.ts): first attempts before retries, the longest due first.
    this.firstDelivery = store.db.prepare(
      `SELECT round > 0 AS retry, next_attempt_at AS due FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?
        ORDER BY round > 0, next_attempt_at LIMIT 1`,
    );
  }

  /** When the first `limit` due jobs became due, the longest due first (a worker owning several shards
   * takes from each as many as a single queue would give it). */
  dueTimes(now: number, limit: number): Array<{ at: number; id: string }> {
    return this.due.all(now, limit) as Array<{ at: number; id: string }>;
  }

  /** The due delivery this shard's claimer would take first: a rank to order shards by (lower first). */
  firstDeliveryRank(now: number): [number, number] | undefined {
    const row = this.firstDelivery.get(now) as { retry: number; due: number } | undefined;
    return row ? [row.retry, row.due] : undefined;
  }

  /** The job this owner made with this Idempotency-Key, if it is in this shard. */
  keyedJob(owner: string | null, key: string): Job | undefined {
    const row = this.keyed.get(owner ?? '', key) as JobRow | undefined;
    return row ? rowToJob(row) : undefined;
  }

  /** A job queued and due since `dueBy` or before, that a claim could take? */
  hasStaleQueue(dueBy: number): boolean {
    return this.stale.get({ dueBy }) === 1;
  }

  /** A job's or a delivery's lease lapsed by `now`? */
  hasLapsedLeases(now: number): boolean {
    return this.lapsed.get({ now }) === 1;
  }
}
