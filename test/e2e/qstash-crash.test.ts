/**
 * kill -9 under a QStash publish load (the official SDK publishing), then a restart on the same database:
 * every message the API answered with an id is delivered (none lost), a delayed one still fires, and a
 * schedule made before the crash fires after it.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { qstashClient } from '../helpers/qstash.js';
import { eventually, GatewayProcess, sleep, tempDir } from '../helpers/gateway-process.js';
import { Receiver } from '../helpers/receiver.js';
import { TestUpstream } from '../helpers/upstream.js';

const TOKEN = 'qstash-crash-token-0123456789';
const upstream = new TestUpstream();
const dir = tempDir();
const receiver = new Receiver();
const args = () => ['--upstream', upstream.url, '--db', `sqlite:${dir}/crash.db`, '--qstash', '--qstash-token', TOKEN, '--allow-callback-hosts', '127.0.0.1', '--lease', '2s'];
let gw: GatewayProcess | undefined;

after(async () => {
  await gw?.stop();
  await receiver.close();
  await upstream.close();
});

test('kill -9 under a publish load loses no accepted message; delayed messages and schedules fire after the restart', { timeout: 150_000 }, async () => {
  await upstream.start();
  await receiver.start();
  // Slow enough that many messages are in flight, queued or delayed when the process dies.
  receiver.plan = Array.from({ length: 400 }, () => ({ status: 200, delayMs: 30 }));
  gw = await new GatewayProcess(args()).start();
  const client = qstashClient(gw.url, TOKEN);
  const { scheduleId } = await client.schedules.create({ destination: `${receiver.url}/scheduled`, cron: '* * * * *' });
  const delayed = await client.publishJSON({ url: `${receiver.url}/delayed`, body: { delayed: true }, delay: 4 });

  const accepted = new Set<string>();
  let stop = false;
  const publishers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      try {
        // Every other one delayed a second: those of the last second are certain to be outstanding at the crash.
        const delay = i % 2 === 0 ? { delay: 1 } : {};
        const { messageId } = await client.publishJSON({ url: `${receiver.url}/load`, body: { w, i }, retries: 5, retryDelay: '200', ...delay });
        accepted.add(messageId);
      } catch {
        await sleep(20); // the gateway is gone: stop counting this one, try again
      }
    }
  });
  await eventually(async () => accepted.size >= 150, 20_000);
  await gw.crash();
  const atCrash = accepted.size;
  const deliveredAtCrash = receiver.received.filter((r) => r.url === '/load').length;
  await sleep(300);
  gw = await new GatewayProcess(args()).start();
  const restarted = qstashClient(gw.url, TOKEN);
  await sleep(500);
  stop = true;
  await Promise.all(publishers);
  assert.ok(atCrash >= 150);
  assert.ok(deliveredAtCrash < atCrash, `messages were still outstanding at the crash (${deliveredAtCrash} of ${atCrash} delivered)`);

  const delivered = () => new Set(receiver.received.filter((r) => r.url === '/load').map((r) => String(r.headers['upstash-message-id'])));
  await eventually(async () => [...accepted].every((id) => delivered().has(id)), 60_000, 200).catch(() => {
    const missing = [...accepted].filter((id) => !delivered().has(id));
    assert.fail(`${missing.length} of ${accepted.size} accepted messages never arrived, e.g. ${missing.slice(0, 3).join(', ')}`);
  });
  // Nothing dead-lettered: every accepted message was delivered, at least once.
  assert.equal((await restarted.dlq.listMessages()).messages.length, 0);
  await eventually(async () => receiver.received.some((r) => r.url === '/delayed' && r.headers['upstash-message-id'] === delayed.messageId), 20_000);
  // The schedule made before the crash fires after it (within the next minute).
  await eventually(async () => receiver.received.some((r) => r.url === '/scheduled' && r.headers['upstash-schedule-id'] === scheduleId), 70_000, 200);
});
