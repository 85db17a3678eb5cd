/** The PostgreSQL store's Web Push subscriptions (migration 8): one named statement each (sql.ts). */
import type { PushSubscription } from '../../model.js';
import type { PushSubscriptionStore } from '../port.js';
import { rowToPushSubscription, type PushSubscriptionRow } from '../rows.js';
import type { RunStatement } from './grouped-writes.js';

export class PgPushSubscriptions implements PushSubscriptionStore {
  constructor(private readonly run: RunStatement) {}

  async add(sub: PushSubscription): Promise<void> {
    await this.run('addPushSubscription', [sub.id, sub.owner, sub.endpoint, sub.p256dh, sub.auth, sub.createdAt]);
  }

  async of(owner: string | null): Promise<PushSubscription[]> {
    return (await this.run<PushSubscriptionRow & { id: string }>('pushSubscriptionsOf', [owner])).map(rowToPushSubscription);
  }

  async delete(id: string, owner: string | null): Promise<boolean> {
    return (await this.run<{ id: string }>('deletePushSubscription', [id, owner])).length > 0;
  }
}
