/**
 * The SQLite store's job claim (JobStore.claimJobs), run inside the claim's write transaction: it holds the
 * file's write lock, so what it reads of a group (its running jobs, its rate window) is exact across every
 * process sharing the file. Ungrouped jobs come from jobs_ready in due order, as they always did; grouped ones
 * (migration 12) within their group's bounds (JobGroup in port.ts), found one group at a time:
 *
 * - the groups with a queued job, by a skip scan of jobs_group_due (one seek each), which also gives when each
 *   group's first job is due, so a group with nothing due costs only that seek;
 * - fifo: the group's first `parallelism` unfinished jobs by id (its running ones and its queued ones merged,
 *   each read in id order from jobs_group), of which the queued and due ones are taken; not fifo: up to
 *   `parallelism` − running of its due ones in run_at order (jobs_group_due). Never more than `parallelism` −
 *   running, nor than the rate's window has left;
 * - the grouped and ungrouped candidates are merged in due order, the first `limit` claimed, and each rated
 *   group's window counts its claims.
 *
 * A blocked group's backlog is never read: a claim costs O((groups + parallelism + claimed) · log n).
 */
import type Database from 'better-sqlite3';
import type { Job } from '../../model.js';
import { rowToJob, type GroupRow, type JobRow } from '../rows.js';
import { prepareEach, type Prepared } from './sql.js';

const SQL = {
  // Two statements, not `UPDATE … WHERE id IN (SELECT …)`: that form cost 90-180 µs a claim, these ~35.
  due: `SELECT rowid FROM jobs INDEXED BY jobs_ready WHERE state = 'queued' AND grp IS NULL AND run_at <= ?
    ORDER BY run_at LIMIT ?`,
  dueWithTimes: `SELECT rowid, run_at, id FROM jobs INDEXED BY jobs_ready WHERE state = 'queued' AND grp IS NULL
    AND run_at <= ? ORDER BY run_at LIMIT ?`,
  claim: `UPDATE jobs SET state = 'running', lease_owner = @owner, lease_token = lease_token + 1,
      lease_expires_at = @lease, attempts = attempts + 1, updated_at = @now, version = version + 1,
      attempt_started_at = @now
    WHERE rowid = @rowid RETURNING *`,
  // The first group (by key) with a queued job, the next one after ?, and when its first queued job is due.
  firstGroup: `SELECT grp, run_at FROM jobs INDEXED BY jobs_group_due WHERE state = 'queued' AND grp IS NOT NULL
    ORDER BY grp, run_at LIMIT 1`,
  nextGroup: `SELECT grp, run_at FROM jobs INDEXED BY jobs_group_due WHERE state = 'queued' AND grp IS NOT NULL
    AND grp > ? ORDER BY grp, run_at LIMIT 1`,
  record: `SELECT * FROM job_groups WHERE key = ?`,
  runningIds: `SELECT id FROM jobs INDEXED BY jobs_group WHERE grp = ? AND state = 'running' ORDER BY id`,
  runningCount: `SELECT count(*) FROM jobs INDEXED BY jobs_group WHERE grp = ? AND state = 'running'`,
  queuedById: `SELECT rowid, run_at, id, grp FROM jobs INDEXED BY jobs_group WHERE grp = ? AND state = 'queued' ORDER BY id`,
  dueInGroup: `SELECT rowid, run_at, id, grp FROM jobs INDEXED BY jobs_group_due WHERE state = 'queued' AND grp IS NOT NULL
    AND grp = ? AND run_at <= ? ORDER BY run_at LIMIT ?`,
  countInWindow: `UPDATE job_groups SET window_start = @start, window_count = @count WHERE key = @key`,
} as const;

/** A queued job a claim may take. */
interface Candidate {
  rowid: number;
  run_at: number;
  id: string;
  /** Its group (grouped candidates only). */
  grp?: string;
}

/** A group's bounds as the claim applies them: a record's, or those of a group without one. */
interface Bounds {
  parallelism: number;
  fifo: boolean;
  /** Claims its rate's window has left (Infinity: no rate), and the window they count in. */
  left: number;
  window?: { key: string; start: number; count: number };
}

const RECORDLESS: Bounds = { parallelism: 1, fifo: true, left: Infinity };

/** A group's bounds at `now`; undefined when it is paused. */
function boundsOf(r: GroupRow | undefined, now: number): Bounds | undefined {
  if (!r) return RECORDLESS;
  if (r.paused) return undefined;
  const bounds: Bounds = { parallelism: r.parallelism, fifo: Boolean(r.fifo), left: Infinity };
  if (r.rate !== null && r.period_ms !== null) {
    const start = r.window_start === null ? null : Number(r.window_start);
    const fresh = start === null || now - start >= Number(r.period_ms);
    const window = fresh ? { key: r.key, start: now, count: 0 } : { key: r.key, start, count: r.window_count };
    bounds.left = r.rate - window.count;
    bounds.window = window;
  }
  return bounds;
}

const byDue = (a: Candidate, b: Candidate) => a.run_at - b.run_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class JobClaimer {
  private readonly sql: Prepared<typeof SQL>;

  constructor(db: Database.Database) {
    this.sql = prepareEach(db, SQL);
    this.sql.due.pluck();
    this.sql.runningIds.pluck();
    this.sql.runningCount.pluck();
  }

  /** Inside a write: claim up to `limit` jobs due by `dueBy` (a stale queue's takeover: earlier than now). */
  claim(owner: string, limit: number, now: number, leaseMs: number, dueBy: number): Job[] {
    const windows = new Map<string, NonNullable<Bounds['window']>>();
    const grouped = this.groupCandidates(limit, now, dueBy, windows);
    let rowids: number[];
    if (grouped.length === 0) rowids = this.sql.due.all(dueBy, limit) as number[];
    else {
      const chosen = [...(this.sql.dueWithTimes.all(dueBy, limit) as Candidate[]), ...grouped].sort(byDue).slice(0, limit);
      rowids = chosen.map((c) => c.rowid);
      this.countClaims(chosen, windows);
    }
    return rowids.map((rowid) => rowToJob(this.sql.claim.get({ rowid, owner, now, lease: now + leaseMs }) as JobRow));
  }

  /** The grouped jobs each group allows now, at most `limit` per group. */
  private groupCandidates(limit: number, now: number, dueBy: number, windows: Map<string, NonNullable<Bounds['window']>>): Candidate[] {
    const out: Candidate[] = [];
    type Head = { grp: string; run_at: number } | undefined;
    for (let g = this.sql.firstGroup.get() as Head; g; g = this.sql.nextGroup.get(g.grp) as Head) {
      if (g.run_at > dueBy) continue;
      const bounds = boundsOf(this.sql.record.get(g.grp) as GroupRow | undefined, now);
      if (!bounds || bounds.left <= 0) continue;
      const taken = bounds.fifo ? this.fifoHead(g.grp, bounds, limit, dueBy) : this.dueOf(g.grp, bounds, limit, dueBy);
      if (taken.length && bounds.window) windows.set(g.grp, bounds.window);
      for (const c of taken) out.push(c);
    }
    return out;
  }

  /** Of the group's first `parallelism` unfinished jobs by id, the queued and due ones. */
  private fifoHead(grp: string, bounds: Bounds, limit: number, dueBy: number): Candidate[] {
    const running = this.sql.runningIds.all(grp) as string[];
    const free = Math.min(bounds.parallelism - running.length, bounds.left, limit);
    const out: Candidate[] = [];
    if (free <= 0) return out;
    let r = 0;
    let place = 0;
    for (const q of this.sql.queuedById.iterate(grp) as IterableIterator<Candidate>) {
      while (r < running.length && running[r]! < q.id) {
        r++;
        place++;
      }
      if (place++ >= bounds.parallelism) break;
      if (q.run_at <= dueBy) out.push(q);
      if (out.length >= free) break;
    }
    return out;
  }

  /** Up to `parallelism` − running of the group's due jobs, the longest due first. */
  private dueOf(grp: string, bounds: Bounds, limit: number, dueBy: number): Candidate[] {
    const free = Math.min(bounds.parallelism - (this.sql.runningCount.get(grp) as number), bounds.left, limit);
    return free > 0 ? (this.sql.dueInGroup.all(grp, dueBy, free) as Candidate[]) : [];
  }

  /** Each rated group's window counts the claims made of it (a window none were made in is left as it was). */
  private countClaims(chosen: Candidate[], windows: Map<string, NonNullable<Bounds['window']>>): void {
    if (windows.size === 0) return;
    const counted = new Set<NonNullable<Bounds['window']>>();
    for (const c of chosen) {
      const w = c.grp === undefined ? undefined : windows.get(c.grp);
      if (!w) continue;
      w.count++;
      counted.add(w);
    }
    for (const w of counted) this.sql.countInWindow.run(w);
  }
}
