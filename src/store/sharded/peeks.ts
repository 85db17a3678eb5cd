import type { Statement } from 'better-sqlite3';
import type { Job } from '../../model.js';
import { rowToJob, type JobRow } from '../rows.js';
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
    this.stale = store.db.prepare(`SELECT 1 FROM jobs WHERE state = 'queued' AND run_at <= ? LIMIT 1`);
    this.lapsed = store.db.prepare(
      `SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'running' AND lease_expires_at < @now)
           OR EXISTS (SELECT 1 FROM deliveries WHERE state = 'delivering' AND lease_expires_at < @now) AS n`,
    ).pluck();
    this.due = store.db.prepare(`SELECT run_at AS at, id FROM jobs WHERE state = 'queued' AND run_at <= ? ORDER BY run_at LIMIT ?`);
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

  /** A job queued and due since `dueBy` or before? */
  hasStaleQueue(dueBy: number): boolean {
    return this.stale.get(dueBy) !== undefined;
  }

  /** A job's or a delivery's lease lapsed by `now`? */
  hasLapsedLeases(now: number): boolean {
    return this.lapsed.get({ now }) === 1;
  }
}
