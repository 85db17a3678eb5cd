/**
 * The QStash-compatible API's queues, flow control, URL groups and schedules, driven by the official
 * `@upstash/qstash` SDK against a real `asyncgate serve --qstash` (two workers, the default here) over loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@upstash/qstash';
import { QstashError } from '@upstash/qstash';
import { qstashClient } from '../helpers/qstash.js';
import { eventually, GatewayProcess, sleep, tempDir } from '../helpers/gateway-process.js';
import { SlowReceiver } from '../helpers/slow-receiver.js';
import { TestUpstream } from '../helpers/upstream.js';

const TOKEN = 'qstash-groups-token-0123456789';
const OTHER = 'qstash-groups-other-0123456789';
const upstream = new TestUpstream();
const dir = tempDir();
let gw: GatewayProcess;
let q: Client;
let other: Client;

const receivers: SlowReceiver[] = [];
const receiver = async (delayMs = 0, plan: number[] = []) => {
  const r = await new SlowReceiver(delayMs, plan).start();
  receivers.push(r);
  return r;
};
const bodies = (r: SlowReceiver) => r.arrivals.map((a) => a.body);

before(async () => {
  await upstream.start();
  gw = await new GatewayProcess([
    '--upstream',
    upstream.url,
    '--db',
    `sqlite:${dir}/groups.db`,
    '--workers',
    '2',
    '--qstash',
    '--qstash-token',
    TOKEN,
    '--qstash-token',
    OTHER,
    '--allow-callback-hosts',
    '127.0.0.1',
  ]).start();
  q = qstashClient(gw.url, TOKEN);
  other = qstashClient(gw.url, OTHER);
});

after(async () => {
  await gw?.stop();
  await Promise.all(receivers.map((r) => r.close()));
  await upstream.close();
});

describe('queues', () => {
  test('a queue of parallelism 1 delivers in order, one at a time; a retry holds back the messages after it', async () => {
    const r = await receiver(20, [500]);
    const queue = q.queue({ queueName: 'orders' });
    await queue.upsert({ parallelism: 1 });
    for (let i = 0; i < 8; i++) await queue.enqueueJSON({ url: r.url, body: { n: i }, retries: 2, retryDelay: '300' });
    await eventually(async () => r.arrivals.length === 9, 10_000);
    assert.deepEqual(bodies(r), ['{"n":0}', '{"n":0}', ...[1, 2, 3, 4, 5, 6, 7].map((n) => `{"n":${n}}`)]);
    assert.equal(r.maxInFlight, 1);
    assert.ok(r.arrivals[1]!.at - r.arrivals[0]!.at >= 290, 'the retry waited its delay, and nothing overtook it');
    const info = await queue.get();
    assert.equal(info.name, 'orders');
    assert.equal(info.parallelism, 1);
    await eventually(async () => (await queue.get()).lag === 0);
  });

  test('parallelism 3 runs up to three at once, never more', async () => {
    const r = await receiver(150);
    const queue = q.queue({ queueName: 'wide' });
    await queue.upsert({ parallelism: 3 });
    for (let i = 0; i < 9; i++) await queue.enqueueJSON({ url: r.url, body: { n: i } });
    await eventually(async () => r.arrivals.length === 9, 10_000);
    assert.equal(r.maxInFlight, 3);
  });

  test('a paused queue delivers nothing until resumed; list, lag and delete; another token sees none of it', async () => {
    const r = await receiver();
    const queue = q.queue({ queueName: 'held' });
    await queue.upsert({ parallelism: 2, paused: true });
    for (let i = 0; i < 3; i++) await queue.enqueueJSON({ url: r.url, body: { n: i } });
    await sleep(500);
    assert.equal(r.arrivals.length, 0);
    const held = await queue.get();
    assert.equal(held.paused, true);
    assert.equal(held.lag, 3);
    assert.ok((await q.queue().list()).some((x) => x.name === 'held'));
    assert.ok(!(await other.queue().list()).some((x) => x.name === 'held'));
    await assert.rejects(other.queue({ queueName: 'held' }).get(), (e: unknown) => e instanceof QstashError && e.status === 404);
    await queue.resume();
    await eventually(async () => r.arrivals.length === 3);
    await queue.pause();
    await queue.enqueueJSON({ url: r.url, body: { n: 'dropped' } });
    await queue.delete();
    await assert.rejects(queue.get(), (e: unknown) => e instanceof QstashError && e.status === 404);
    await sleep(300);
    assert.equal(r.arrivals.length, 3, 'a deleted queue\'s pending message is canceled');
  });
});

describe('flow control', () => {
  test('rate per period: at most 2 deliveries start per second', async () => {
    const r = await receiver();
    for (let i = 0; i < 6; i++) await q.publishJSON({ url: r.url, body: { n: i }, flowControl: { key: 'rated', rate: 2, period: '1s' } });
    await eventually(async () => r.arrivals.length === 6, 10_000);
    const t = r.arrivals.map((a) => a.at).sort((x, y) => x - y);
    for (let i = 2; i < t.length; i++) assert.ok(t[i]! - t[i - 2]! >= 900, `deliveries ${i - 2} and ${i} only ${t[i]! - t[i - 2]!} ms apart`);
  });

  test('parallelism: at most that many in flight', async () => {
    const r = await receiver(100);
    await Promise.all(Array.from({ length: 8 }, (_, i) => q.publishJSON({ url: r.url, body: { n: i }, flowControl: { key: 'narrow', parallelism: 2 } })));
    await eventually(async () => r.arrivals.length === 8, 10_000);
    assert.equal(r.maxInFlight, 2);
  });
});

describe('URL groups', () => {
  test('publishing to a URL group fans out to each endpoint; endpoints removed stop receiving', async () => {
    const [r1, r2] = [await receiver(), await receiver()];
    await q.urlGroups.addEndpoints({ name: 'fanout', endpoints: [{ name: 'first', url: r1.url }, { url: r2.url }] });
    const out = await q.publishJSON({ urlGroup: 'fanout', body: { hello: 'all' } });
    assert.equal(out.length, 2);
    assert.deepEqual(out.map((m) => m.url).sort(), [r1.url, r2.url].sort());
    await eventually(async () => r1.arrivals.length === 1 && r2.arrivals.length === 1);
    assert.equal(r1.arrivals[0]!.headers['upstash-topic-name'], 'fanout');
    const group = await q.urlGroups.get('fanout');
    assert.deepEqual(group.endpoints, [{ name: 'first', url: r1.url }, { url: r2.url }]);
    assert.ok((await q.urlGroups.list()).some((g) => g.name === 'fanout'));
    assert.ok(!(await other.urlGroups.list()).some((g) => g.name === 'fanout'));
    await assert.rejects(other.publishJSON({ urlGroup: 'fanout', body: {} }), (e: unknown) => e instanceof QstashError && e.status === 404);
    await q.urlGroups.removeEndpoints({ name: 'fanout', endpoints: [{ name: 'first' }] });
    await q.publishJSON({ urlGroup: 'fanout', body: { second: true } });
    await eventually(async () => r2.arrivals.length === 2);
    await sleep(200);
    assert.equal(r1.arrivals.length, 1);
    await q.urlGroups.delete('fanout');
    await assert.rejects(q.urlGroups.get('fanout'), (e: unknown) => e instanceof QstashError && e.status === 404);
  });

  test('an endpoint the SSRF guard refuses is refused when added', async () => {
    await assert.rejects(q.urlGroups.addEndpoints({ name: 'bad', endpoints: [{ url: 'http://169.254.169.254/' }] }), (e: unknown) => e instanceof QstashError && e.status === 400);
  });
});

describe('schedules', () => {
  test('a one-minute cron fires (allowed to take a minute); get, list, pause, resume, delete', { timeout: 90_000 }, async () => {
    const r = await receiver();
    const { scheduleId } = await q.schedules.create({ destination: r.url, cron: '* * * * *', body: JSON.stringify({ tick: true }), headers: { 'content-type': 'application/json' } });
    const created = await q.schedules.get(scheduleId);
    assert.equal(created.cron, '* * * * *');
    assert.equal(created.isPaused, false);
    const next = created.nextScheduleTime!;
    assert.equal(next % 60_000, 0, 'on the minute');
    assert.ok((await q.schedules.list()).some((s) => s.scheduleId === scheduleId));
    assert.ok(!(await other.schedules.list()).some((s) => s.scheduleId === scheduleId));
    await eventually(async () => r.arrivals.length === 1, 70_000, 100);
    const fired = r.arrivals[0]!;
    assert.equal(fired.body, '{"tick":true}');
    assert.equal(fired.headers['upstash-schedule-id'], scheduleId);
    assert.ok(fired.at >= next && fired.at < next + 2000, `fired ${fired.at - next} ms after its time`);
    const after = await q.schedules.get(scheduleId);
    assert.equal(after.lastScheduleTime, next);
    assert.equal(after.nextScheduleTime, next + 60_000);
    await eventually(async () => Object.values((await q.schedules.get(scheduleId)).lastScheduleStates ?? {}).includes('SUCCESS'));
    await q.schedules.pause({ schedule: scheduleId });
    assert.equal((await q.schedules.get(scheduleId)).isPaused, true);
    await q.schedules.resume({ schedule: scheduleId });
    assert.equal((await q.schedules.get(scheduleId)).isPaused, false);
    await q.schedules.delete(scheduleId);
    await assert.rejects(q.schedules.get(scheduleId), (e: unknown) => e instanceof QstashError && e.status === 404);
  });

  test('a bad cron is refused with the reason', async () => {
    await assert.rejects(q.schedules.create({ destination: 'http://127.0.0.1:1/', cron: '61 * * * *' }), (e: unknown) => e instanceof QstashError && e.status === 400 && /Upstash-Cron/.test(e.message));
  });
});
