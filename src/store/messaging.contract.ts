/**
 * The storage port's contract for the QStash-compatible API's URL groups and schedules: run inside
 * `jobStoreContract`, so on every backend.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { JobStore, ScheduleRecord } from './port.js';

/** A schedule of `owner`'s, firing at `nextAt`. */
export function newSchedule(owner: string | null, nextAt: number, extra: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    id: `scd_${randomBytes(8).toString('hex')}`,
    owner,
    cron: '*/5 * * * *',
    destination: 'https://example.com/hook',
    headers: { 'upstash-method': 'POST', 'content-type': 'text/plain' },
    body: new Uint8Array(Buffer.from('tick')),
    paused: false,
    createdAt: 1000,
    updatedAt: 1000,
    nextAt,
    lastAt: null,
    lastMessageIds: [],
    ...extra,
  };
}

export function messagingContract(open: () => Promise<JobStore>): void {
  const a = { url: 'https://a.example/hook' };
  const b = { name: 'b', url: 'https://b.example/hook' };
  const c = { name: 'c', url: 'https://c.example/hook' };

  test('url groups: endpoints are added once per url, in order, and listed per owner by name', async () => {
    const m = (await open()).messaging;
    const first = await m.addEndpoints('alice', 'orders', [b, a, { name: 'again', url: a.url }], 1000);
    assert.deepEqual(first, { owner: 'alice', name: 'orders', endpoints: [b, a], createdAt: 1000, updatedAt: 1000 });
    const more = await m.addEndpoints('alice', 'orders', [{ name: 'other', url: b.url }, c, { name: '', url: 'https://d.example/' }], 2000);
    const endpoints = [b, a, c, { url: 'https://d.example/' }];
    assert.deepEqual(more, { owner: 'alice', name: 'orders', endpoints, createdAt: 1000, updatedAt: 2000 });
    assert.deepEqual(await m.urlGroup('alice', 'orders'), more);
    await m.addEndpoints('alice', 'billing', [a], 3000);
    assert.deepEqual((await m.urlGroups('alice')).map((g) => g.name), ['billing', 'orders']);
  });

  test('url groups are the owner\'s own: another owner (or the anonymous one) cannot see, change or delete them', async () => {
    const m = (await open()).messaging;
    await m.addEndpoints('alice', 'orders', [a, b], 1000);
    assert.equal(await m.urlGroup('bob', 'orders'), null);
    assert.equal(await m.urlGroup(null, 'orders'), null);
    assert.deepEqual(await m.urlGroups('bob'), []);
    assert.equal(await m.removeEndpoints('bob', 'orders', [{ url: a.url }], 2000), null);
    assert.equal(await m.deleteUrlGroup('bob', 'orders'), false);
    assert.equal(await m.deleteUrlGroup(null, 'orders'), false);
    // The same name is another group for another owner, the anonymous one too.
    assert.deepEqual((await m.addEndpoints('bob', 'orders', [c], 2000)).endpoints, [c]);
    assert.deepEqual((await m.addEndpoints(null, 'orders', [b], 2000)).endpoints, [b]);
    assert.deepEqual((await m.urlGroup('alice', 'orders'))?.endpoints, [a, b]);
    assert.deepEqual((await m.urlGroup(null, 'orders'))?.endpoints, [b]);
    assert.deepEqual((await m.urlGroups(null)).map((g) => [g.owner, g.name]), [[null, 'orders']]);
    assert.equal(await m.deleteUrlGroup(null, 'orders'), true);
    assert.equal(await m.urlGroup(null, 'orders'), null);
    assert.deepEqual((await m.urlGroup('alice', 'orders'))?.endpoints, [a, b]);
    assert.equal(await m.deleteUrlGroup('alice', 'orders'), true);
    assert.equal(await m.deleteUrlGroup('alice', 'orders'), false);
    assert.deepEqual((await m.urlGroup('bob', 'orders'))?.endpoints, [c]);
  });

  test('removing endpoints by name or url; the group goes once empty; null when there is no group', async () => {
    const m = (await open()).messaging;
    assert.equal(await m.removeEndpoints(null, 'none', [{ url: a.url }], 1000), null);
    await m.addEndpoints(null, 'g', [a, b, c], 1000);
    const unchanged = await m.removeEndpoints(null, 'g', [{ url: 'https://nowhere.example/' }, { name: 'nobody' }, {}], 2000);
    assert.deepEqual(unchanged, { owner: null, name: 'g', endpoints: [a, b, c], createdAt: 1000, updatedAt: 1000 });
    const byName = await m.removeEndpoints(null, 'g', [{ name: 'b' }], 3000);
    assert.deepEqual(byName, { owner: null, name: 'g', endpoints: [a, c], createdAt: 1000, updatedAt: 3000 });
    assert.deepEqual(await m.urlGroup(null, 'g'), byName);
    const emptied = await m.removeEndpoints(null, 'g', [{ url: a.url }, { name: 'c', url: 'https://elsewhere.example/' }], 4000);
    assert.deepEqual(emptied, { owner: null, name: 'g', endpoints: [], createdAt: 1000, updatedAt: 4000 });
    assert.equal(await m.urlGroup(null, 'g'), null);
    assert.deepEqual(await m.urlGroups(null), []);
    // Made again, it is a new group.
    assert.deepEqual(await m.addEndpoints(null, 'g', [c], 5000), { owner: null, name: 'g', endpoints: [c], createdAt: 5000, updatedAt: 5000 });
  });

  test('schedules: created, read back field for field (bodies as bytes), listed oldest first, replaced by id', async () => {
    const m = (await open()).messaging;
    const binary = new Uint8Array([0, 255, 1, 128, 0, 10, 13]);
    const s1 = newSchedule('alice', 10_000, { body: binary, createdAt: 2000, updatedAt: 2000 });
    const s2 = newSchedule('alice', 20_000, { body: null, createdAt: 1000, updatedAt: 1000, cron: 'CRON_TZ=Europe/Paris 0 9 * * 1' });
    const s3 = newSchedule('alice', 30_000, { body: new Uint8Array(0), createdAt: 3000, updatedAt: 3000, paused: true });
    for (const s of [s1, s2, s3]) assert.equal(await m.putSchedule(s), true);
    const got = await m.schedule('alice', s1.id);
    assert.deepEqual(got, s1);
    assert.ok(got!.body instanceof Uint8Array);
    assert.deepEqual([...got!.body], [...binary]);
    assert.equal((await m.schedule('alice', s2.id))?.body, null);
    assert.equal((await m.schedule('alice', s3.id))?.body?.byteLength, 0);
    assert.deepEqual((await m.schedules('alice')).map((s) => s.id), [s2.id, s1.id, s3.id]);
    // Replaced: every field as given, but the schedule keeps when it was made.
    const replaced = {
      ...s1, cron: '0 * * * *', destination: 'orders', headers: { 'upstash-retries': '2' }, body: null, updatedAt: 5000, nextAt: 60_000, createdAt: 5000,
    };
    assert.equal(await m.putSchedule(replaced), true);
    assert.deepEqual(await m.schedule('alice', s1.id), { ...replaced, createdAt: 2000 });
    assert.equal(await m.deleteSchedule('alice', s2.id), true);
    assert.equal(await m.deleteSchedule('alice', s2.id), false);
    assert.equal(await m.schedule('alice', s2.id), null);
    assert.deepEqual((await m.schedules('alice')).map((s) => s.id), [s1.id, s3.id]);
  });

  test('schedules are the owner\'s own: another owner cannot see, replace, pause or delete them (the anonymous owner is one)', async () => {
    const m = (await open()).messaging;
    const mine = newSchedule('alice', 10_000);
    const anonymous = newSchedule(null, 10_000);
    assert.equal(await m.putSchedule(mine), true);
    assert.equal(await m.putSchedule(anonymous), true);
    assert.equal(await m.schedule('bob', mine.id), null);
    assert.equal(await m.schedule(null, mine.id), null);
    assert.equal(await m.schedule('alice', anonymous.id), null);
    assert.deepEqual(await m.schedules('bob'), []);
    assert.deepEqual((await m.schedules(null)).map((s) => s.id), [anonymous.id]);
    assert.equal(await m.putSchedule({ ...mine, owner: 'bob', destination: 'https://evil.example/' }), false);
    assert.equal(await m.putSchedule({ ...mine, owner: null }), false);
    assert.equal(await m.putSchedule({ ...anonymous, owner: 'alice' }), false);
    assert.equal(await m.setSchedulePaused('bob', mine.id, true, 2000), false);
    assert.equal(await m.deleteSchedule('bob', mine.id), false);
    assert.equal(await m.deleteSchedule('alice', anonymous.id), false);
    assert.deepEqual(await m.schedule('alice', mine.id), mine);
    assert.deepEqual(await m.schedule(null, anonymous.id), anonymous);
    assert.equal(await m.deleteSchedule(null, anonymous.id), true);
  });

  test('pausing keeps a schedule from being due; resuming with nextAt moves it; no such schedule: false', async () => {
    const m = (await open()).messaging;
    const s = newSchedule('alice', 10_000);
    await m.putSchedule(s);
    assert.equal(await m.setSchedulePaused('alice', s.id, true, 2000), true);
    assert.deepEqual(await m.schedule('alice', s.id), { ...s, paused: true, updatedAt: 2000 });
    assert.deepEqual(await m.dueSchedules(50_000, 10), []);
    assert.equal(await m.setSchedulePaused('alice', s.id, false, 3000, 40_000), true);
    assert.deepEqual(await m.schedule('alice', s.id), { ...s, paused: false, updatedAt: 3000, nextAt: 40_000 });
    assert.deepEqual((await m.dueSchedules(50_000, 10)).map((d) => d.id), [s.id]);
    assert.deepEqual(await m.dueSchedules(39_999, 10), []);
    assert.equal(await m.setSchedulePaused('alice', 'scd_nope', true, 4000), false);
  });

  test('due schedules: every owner\'s, soonest first, at most the limit, none paused or not yet due', async () => {
    const m = (await open()).messaging;
    const later = newSchedule('bob', 3000);
    const soonest = newSchedule(null, 1000);
    const middle = newSchedule('alice', 2000);
    const paused = newSchedule('alice', 500, { paused: true });
    const future = newSchedule('alice', 9000);
    for (const s of [later, soonest, paused, future, middle]) await m.putSchedule(s);
    assert.deepEqual(await m.dueSchedules(5000, 10), [soonest, middle, later]);
    assert.deepEqual((await m.dueSchedules(5000, 2)).map((s) => s.id), [soonest.id, middle.id]);
    assert.deepEqual((await m.dueSchedules(2000, 10)).map((s) => s.id), [soonest.id, middle.id]);
    assert.deepEqual(await m.dueSchedules(999, 10), []);
  });

  test('advancing a schedule is compare-and-set on the time it fired: the second of two fires of that time changes nothing', async () => {
    const m = (await open()).messaging;
    const s = newSchedule('alice', 1000);
    await m.putSchedule(s);
    const fires = await Promise.all([
      m.advanceSchedule(s.id, 1000, 2000, ['msg_1'], 1001),
      m.advanceSchedule(s.id, 1000, 2000, ['msg_2'], 1002),
    ]);
    assert.deepEqual(fires.filter(Boolean).length, 1);
    const after = await m.schedule('alice', s.id);
    assert.equal(after?.nextAt, 2000);
    assert.equal(after?.lastAt, 1000);
    assert.deepEqual(after?.lastMessageIds, fires[0] ? ['msg_1'] : ['msg_2']);
    assert.equal(await m.advanceSchedule(s.id, 1000, 3000, ['msg_3'], 1500), false);
    assert.equal(await m.advanceSchedule(s.id, 2000, 3000, ['msg_3', 'msg_4'], 2001), true);
    assert.deepEqual(await m.schedule('alice', s.id), { ...s, nextAt: 3000, lastAt: 2000, lastMessageIds: ['msg_3', 'msg_4'], updatedAt: 2001 });
    assert.equal(await m.advanceSchedule('scd_nope', 1000, 2000, [], 1000), false);
    assert.deepEqual((await m.dueSchedules(2500, 10)).map((d) => d.id), []);
  });
}
