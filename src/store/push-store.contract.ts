/**
 * The storage port's contract for Web Push subscriptions: run inside `jobStoreContract`, so on every backend.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { PushSubscription } from '../model.js';
import type { JobStore } from './port.js';

export function pushContract(open: () => Promise<JobStore>): void {
  const sub = (owner: string | null, endpoint: string, createdAt = Date.now()): PushSubscription => ({
    id: `push_${randomBytes(8).toString('hex')}`,
    owner,
    endpoint,
    p256dh: randomBytes(65).toString('base64url'),
    auth: randomBytes(16).toString('base64url'),
    createdAt,
  });

  test('push subscriptions are kept per owner, oldest first, and only their owner removes them', async () => {
    const store = await open();
    const owner = `o_${randomBytes(6).toString('hex')}`;
    const a = sub(owner, 'https://push.example/a', 1000);
    const b = sub(owner, 'https://push.example/b', 2000);
    const other = sub(`${owner}x`, 'https://push.example/a', 1500);
    for (const s of [b, a, other]) await store.pushSubscriptions.add(s);
    assert.deepEqual(await store.pushSubscriptions.of(owner), [a, b]);
    assert.deepEqual(await store.pushSubscriptions.of(`${owner}x`), [other]);
    assert.equal(await store.pushSubscriptions.delete(a.id, `${owner}x`), false);
    assert.equal(await store.pushSubscriptions.delete(a.id, owner), true);
    assert.equal(await store.pushSubscriptions.delete(a.id, owner), false);
    assert.deepEqual(await store.pushSubscriptions.of(owner), [b]);
  });

  test('subscribing an endpoint again replaces the owner\'s subscription of it (the anonymous owner too)', async () => {
    const store = await open();
    const endpoint = `https://push.example/${randomBytes(6).toString('hex')}`;
    const first = sub(null, endpoint, 1000);
    const again = sub(null, endpoint, 2000);
    await store.pushSubscriptions.add(first);
    await store.pushSubscriptions.add(again);
    const mine = (await store.pushSubscriptions.of(null)).filter((s) => s.endpoint === endpoint);
    assert.deepEqual(mine, [again]);
    assert.equal(await store.pushSubscriptions.delete(again.id, 'someone'), false);
    assert.equal(await store.pushSubscriptions.delete(again.id, null), true);
  });
}
