/**
 * The QStash-compatible API scaled out: two `asyncgate serve --qstash` processes on one PostgreSQL, the SDK
 * publishing to both. A FIFO queue of parallelism 1 stays in order with one in flight across the processes; a
 * flow-control key's parallelism holds across them; a URL group and a DLQ made through one are seen through
 * the other; and a one-minute schedule fires exactly once although both processes run a scheduler.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@upstash/qstash';
import { qstashClient } from '../helpers/qstash.js';
import { eventually, GatewayProcess, sleep } from '../helpers/gateway-process.js';
import { dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from '../helpers/postgres.js';
import { SlowReceiver } from '../helpers/slow-receiver.js';
import { TestUpstream } from '../helpers/upstream.js';

const TOKEN = 'qstash-postgres-token-0123456789';
const available = await postgresAvailable();
const schema = uniqueSchema('qstash');
const upstream = new TestUpstream();
const gateways: GatewayProcess[] = [];
const receivers: SlowReceiver[] = [];
let one: Client;
let two: Client;
const receiver = async (delayMs = 0, plan: number[] = []) => {
  const r = await new SlowReceiver(delayMs, plan).start();
  receivers.push(r);
  return r;
};

describe('the QStash API on PostgreSQL, two processes', { skip: !available && 'PostgreSQL not reachable' }, () => {
  before(async () => {
    await upstream.start();
    for (let i = 0; i < 2; i++) {
      const args = ['--upstream', upstream.url, '--db', schemaUrl(schema), '--qstash', '--qstash-token', TOKEN, '--allow-callback-hosts', '127.0.0.1'];
      gateways.push(await new GatewayProcess(args).start());
    }
    const client = (g: GatewayProcess) => qstashClient(g.url, TOKEN);
    [one, two] = [client(gateways[0]!), client(gateways[1]!)];
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(receivers.map((r) => r.close()));
    await upstream.close();
    await dropSchemas([schema]);
  });

  test('a FIFO queue fed through both processes delivers in order, one at a time', async () => {
    const r = await receiver(30);
    await one.queue({ queueName: 'pg-fifo' }).upsert({ parallelism: 1 });
    for (let i = 0; i < 10; i++) await (i % 2 ? two : one).queue({ queueName: 'pg-fifo' }).enqueueJSON({ url: r.url, body: { n: i } });
    await eventually(async () => r.arrivals.length === 10, 15_000);
    assert.deepEqual(r.arrivals.map((a) => (JSON.parse(a.body) as { n: number }).n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(r.maxInFlight, 1);
  });

  test('a flow-control parallelism holds across the processes', async () => {
    const r = await receiver(150);
    await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? two : one).publishJSON({ url: r.url, body: { i }, flowControl: { key: 'pg-narrow', parallelism: 2 } })));
    await eventually(async () => r.arrivals.length === 8, 15_000);
    assert.equal(r.maxInFlight, 2);
  });

  test('a URL group made through one process fans out when published through the other; its DLQ is shared', async () => {
    const [ok, failing] = [await receiver(), await receiver(0, [500, 500])];
    await one.urlGroups.addEndpoints({ name: 'pg-group', endpoints: [{ url: ok.url }, { url: failing.url }] });
    const out = await two.publishJSON({ urlGroup: 'pg-group', body: { hello: 'pg' }, retries: 1, retryDelay: '50' });
    assert.equal(out.length, 2);
    await eventually(async () => ok.arrivals.length === 1 && failing.arrivals.length === 2, 10_000);
    const dead = out.find((m) => m.url === failing.url)!.messageId;
    await eventually(async () => (await one.dlq.listMessages()).messages.some((m) => m.messageId === dead));
  });

  test('a one-minute schedule fires exactly once per minute with a scheduler in each process', { timeout: 100_000 }, async () => {
    const r = await receiver();
    const { scheduleId } = await one.schedules.create({ destination: r.url, cron: '* * * * *' });
    const next = (await two.schedules.get(scheduleId)).nextScheduleTime!;
    await eventually(async () => r.arrivals.length >= 1, 70_000, 100);
    await sleep(1500);
    assert.equal(r.arrivals.length, 1, 'one message for the minute, not one per process');
    assert.equal(r.arrivals[0]!.headers['upstash-schedule-id'], scheduleId);
    assert.ok(r.arrivals[0]!.at >= next);
    assert.equal((await two.schedules.get(scheduleId)).lastScheduleTime, next);
    await two.schedules.delete(scheduleId);
  });
});
