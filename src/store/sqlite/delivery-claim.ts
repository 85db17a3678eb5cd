import type Database from 'better-sqlite3';
import type { Delivery } from '../../model.js';
import { rowToDelivery, type DeliveryRow } from './rows.js';

export interface DeliveryClaim {
  owner: string;
  limit: number;
  now: number;
  leaseMs: number;
  perHost: number;
  inflight: Readonly<Record<string, number>>;
}

/**
 * Claims due deliveries without looking at the whole backlog. Pending rows are indexed by
 * (host, round > 0, next_attempt_at), so the claim walks the hosts that have pending rows (one index seek
 * each) and, for each host with free slots, seeks straight to its due first attempts, then (in a second pass)
 * its due retries. The cost is O((hosts + claimed) · log n), whatever the backlog: a slow or dead host's pile
 * is never scanned, so it cannot delay the others. The walk starts after the host served last, so when
 * `limit` is smaller than what is due, hosts take turns.
 * Runs inside a write transaction (the caller's group commit).
 */
export class DeliveryClaimer {
  private readonly nextHost: Database.Statement;
  private readonly dueOfHost: Database.Statement;
  private readonly lease: Database.Statement;
  /** The host served last: the next walk starts after it (fairness only; not persisted). */
  private cursor = '';

  constructor(db: Database.Database) {
    this.nextHost = db
      .prepare(`SELECT host FROM deliveries INDEXED BY deliveries_host_due
          WHERE state = 'pending' AND host > ? ORDER BY host LIMIT 1`)
      .pluck();
    this.dueOfHost = db
      .prepare(
        `SELECT id FROM deliveries WHERE state = 'pending' AND host = @host AND (round > 0) = @retry
          AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @n`,
      )
      .pluck();
    this.lease = db.prepare(`UPDATE deliveries SET state = 'delivering', lease_owner = @owner,
        lease_token = lease_token + 1, lease_expires_at = @lease, updated_at = @now
      WHERE id = @id AND state = 'pending' RETURNING *`);
  }

  claim(c: DeliveryClaim): Delivery[] {
    const hosts = this.hostsFromCursor();
    const free = new Map<string, number>();
    for (const h of hosts) free.set(h, c.perHost - (c.inflight[h] ?? 0));
    const out: Delivery[] = [];
    const lease = c.now + c.leaseMs;
    // First attempts on every host before any retry: a receiver coming back from an outage must not make
    // the fresh callbacks of the others wait behind its pile of retries.
    for (const retry of [0, 1]) {
      for (const host of hosts) {
        const room = Math.min(free.get(host)!, c.limit - out.length);
        if (room <= 0) continue;
        const ids = this.dueOfHost.all({ host, retry, now: c.now, n: room }) as string[];
        for (const id of ids) {
          const row = this.lease.get({ id, owner: c.owner, lease, now: c.now }) as DeliveryRow | undefined;
          if (row) out.push(rowToDelivery(row));
        }
        if (ids.length === 0) continue;
        free.set(host, free.get(host)! - ids.length);
        this.cursor = host;
        if (out.length >= c.limit) return out;
      }
    }
    return out;
  }

  /** Every host with a pending delivery, in host order, rotated to start after the cursor. */
  private hostsFromCursor(): string[] {
    const after: string[] = [];
    const before: string[] = [];
    for (let h = this.nextHost.get('') as string | undefined; h !== undefined; h = this.nextHost.get(h) as string | undefined) {
      (h > this.cursor ? after : before).push(h);
    }
    return after.concat(before);
  }
}
