/** The SQLite store's Web Push subscriptions (migration 10): writes through the store's queue, like every other. */
import type Database from 'better-sqlite3';
import type { PushSubscription } from '../../model.js';
import type { PushSubscriptionStore } from '../port.js';
import { rowToPushSubscription, type PushSubscriptionRow } from '../rows.js';
import type { WriteQueue } from './write-queue.js';
import { prepareEach, type Prepared } from './sql.js';

// `owner IS ?` matches the anonymous owner (null) too.
const SQL = {
  dropEndpoint: `DELETE FROM push_subscriptions WHERE owner IS ? AND endpoint = ?`,
  insert: `INSERT INTO push_subscriptions (id, owner, endpoint, p256dh, auth, created_at)
    VALUES (@id, @owner, @endpoint, @p256dh, @auth, @created_at)`,
  of: `SELECT * FROM push_subscriptions WHERE owner IS ? ORDER BY created_at, id`,
  delete: `DELETE FROM push_subscriptions WHERE id = ? AND owner IS ?`,
};

export class SqlitePushSubscriptions implements PushSubscriptionStore {
  private readonly sql: Prepared<typeof SQL>;

  constructor(
    db: Database.Database,
    private readonly writes: WriteQueue,
  ) {
    this.sql = prepareEach(db, SQL);
  }

  add(sub: PushSubscription): Promise<void> {
    return this.writes.write(() => {
      this.sql.dropEndpoint.run(sub.owner, sub.endpoint);
      const { id, owner, endpoint, p256dh, auth, createdAt } = sub;
      this.sql.insert.run({ id, owner, endpoint, p256dh, auth, created_at: createdAt });
    });
  }

  of(owner: string | null): Promise<PushSubscription[]> {
    return this.writes.read(() => (this.sql.of.all(owner) as PushSubscriptionRow[]).map(rowToPushSubscription));
  }

  delete(id: string, owner: string | null): Promise<boolean> {
    return this.writes.write(() => this.sql.delete.run(id, owner).changes > 0);
  }
}
