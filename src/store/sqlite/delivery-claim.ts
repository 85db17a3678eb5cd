import type Database from 'better-sqlite3';
import type { Delivery } from '../../model.js';
import type { DeliveryLease } from '../port.js';
import { rowToDelivery, type DeliveryRow } from '../rows.js';

export interface DeliveryClaim {
  owner: string;
  limit: number;
  now: number;
  leaseMs: number;
  perHost: number;
  inflight: Readonly<Record<string, number>>;
}

interface Candidate {
  rowid: number;
  retry: number;
  due: number;
}

/**
 * Leases deliveries: a finishing job's own (leaseOfFinishing), and due ones claimed without looking at the
 * whole backlog (claim). Pending rows are indexed by (host, round > 0, next_attempt_at), so the claim walks the hosts that have pending rows (one index seek
 * each) and, for each host with free slots, reads at most min(free slots, limit) of its due rows: first
 * attempts, then retries. Of those candidates the longest due go first, first attempts before any retry.
 * The cost is O((hosts + candidates) · log n), whatever the backlog: a slow or dead host's pile is never
 * scanned, so it cannot delay the others. Runs inside a write transaction (the caller's group commit).
 */
export class DeliveryClaimer {
  private readonly nextHost: Database.Statement;
  private readonly dueOfHost: Database.Statement;
  private readonly lease: Database.Statement;
  private readonly waitingOfJob: Database.Statement;
  private readonly leaseWaiting: Database.Statement;

  constructor(db: Database.Database) {
    // INDEXED BY: without statistics the planner chose another index (deliveries_state, since dropped) and sorted.
    this.nextHost = db
      .prepare(
        `SELECT host FROM deliveries INDEXED BY deliveries_host_due
          WHERE state = 'pending' AND host > ? ORDER BY host LIMIT 1`,
      )
      .pluck();
    this.dueOfHost = db.prepare(
      `SELECT rowid, next_attempt_at AS due FROM deliveries WHERE state = 'pending' AND host = @host
        AND (round > 0) = @retry AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @n`,
    );
    this.lease = db.prepare(`UPDATE deliveries SET state = 'delivering', lease_owner = @owner,
        lease_token = lease_token + 1, lease_expires_at = @lease, updated_at = @now
      WHERE rowid = @rowid AND state = 'pending' RETURNING *`);
    this.waitingOfJob = db.prepare(
      `SELECT rowid, host FROM deliveries INDEXED BY deliveries_job WHERE job_id = ? AND state = 'waiting' ORDER BY id`,
    );
    // Select, then update by rowid: `UPDATE … WHERE rowid IN (SELECT … LIMIT n)` cost 80 µs here.
    this.leaseWaiting = db.prepare(`UPDATE deliveries SET state = 'delivering', lease_owner = @owner,
        lease_token = lease_token + 1, lease_expires_at = @lease, next_attempt_at = @now, updated_at = @now
      WHERE rowid = @rowid AND state = 'waiting' RETURNING *`);
  }

  /** Lease a finishing job's waiting deliveries, up to the slots given per host (DeliveryLease). Runs inside the
   * completion's transaction. */
  leaseOfFinishing(jobId: string, l: DeliveryLease, now: number): Delivery[] {
    const room: Record<string, number> = { ...l.hosts };
    const out: Delivery[] = [];
    for (const { rowid, host } of this.waitingOfJob.all(jobId) as Array<{ rowid: number; host: string }>) {
      if (!((room[host] ?? 0) > 0)) continue;
      const row = this.leaseWaiting.get({ rowid, owner: l.owner, lease: now + l.leaseMs, now }) as DeliveryRow | undefined;
      if (!row) continue;
      room[host]!--;
      out.push(rowToDelivery(row));
    }
    return out;
  }

  claim(c: DeliveryClaim): Delivery[] {
    const candidates: Candidate[] = [];
    for (let host = this.nextHost.get('') as string | undefined; host !== undefined; host = this.nextHost.get(host) as string | undefined) {
      const room = Math.min(c.perHost - (c.inflight[host] ?? 0), c.limit);
      if (room <= 0) continue;
      const first = this.due(host, 0, c.now, room);
      candidates.push(...first);
      if (first.length < room) candidates.push(...this.due(host, 1, c.now, room - first.length));
    }
    candidates.sort((a, b) => a.retry - b.retry || a.due - b.due || a.rowid - b.rowid);
    const out: Delivery[] = [];
    const lease = c.now + c.leaseMs;
    for (const { rowid } of candidates.slice(0, c.limit)) {
      const row = this.lease.get({ rowid, owner: c.owner, lease, now: c.now }) as DeliveryRow | undefined;
      if (row) out.push(rowToDelivery(row));
    }
    return out;
  }

  private due(host: string, retry: 0 | 1, now: number, n: number): Candidate[] {
    const rows = this.dueOfHost.all({ host, retry, now, n }) as Array<{ rowid: number; due: number }>;
    return rows.map((r) => ({ rowid: r.rowid, retry, due: r.due }));
  }
}
