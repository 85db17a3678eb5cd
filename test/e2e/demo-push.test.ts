/**
 * The demo's Web Push page (`GET /push` through the gateway): served with its service worker, and the flow it
 * runs in a browser works against the real demo: subscribe with the VAPID key from `/_async/push-key`, start a
 * report with `Asyncgate-Push: on`, and an encrypted message with the job's summary reaches the subscription's
 * push service (here one on loopback, as the demo allows 127.0.0.1, standing in for the browser's).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { DemoProcess } from '../helpers/demo-process.js';
import { eventually } from '../helpers/gateway-process.js';
import { PushKeys, verifyVapid } from '../helpers/web-push-client.js';

test('the demo serves the push page and its worker, and the page\'s flow delivers a push', { timeout: 60_000 }, async () => {
  const received: Array<{ headers: Record<string, unknown>; body: Buffer }> = [];
  const push = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(parts) });
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((r) => push.listen(0, '127.0.0.1', r));
  const pushUrl = `http://127.0.0.1:${(push.address() as AddressInfo).port}`;
  const demo = await new DemoProcess().start();
  try {
    const page = await fetch(`${demo.gateway}/push`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    for (const needle of ["fetch('/_async/push-key')", "register('/push/sw.js')", "'asyncgate-push': 'on'", "fetch('/_async/push-subscriptions'"]) assert.ok(html.includes(needle), needle);
    const worker = await fetch(`${demo.gateway}/push/sw.js`);
    assert.match(worker.headers.get('content-type') ?? '', /javascript/);
    assert.match(await worker.text(), /showNotification/);

    // What the page does, with this test as the browser.
    const { publicKey } = (await (await fetch(`${demo.gateway}/_async/push-key`)).json()) as { publicKey: string };
    const keys = new PushKeys();
    const sub = await fetch(`${demo.gateway}/_async/push-subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(keys.subscription(`${pushUrl}/send/1`)),
    });
    assert.equal(sub.status, 201, await sub.clone().text());
    const started = await fetch(`${demo.gateway}/reports/2026?seconds=1`, { headers: { prefer: 'respond-async', 'asyncgate-push': 'on' } });
    assert.equal(started.status, 202);
    const { id } = (await started.json()) as { id: string };
    const message = await eventually(async () => received[0], 20_000);
    verifyVapid(String(message.headers.authorization), publicKey);
    const summary = JSON.parse(keys.decrypt(message.body).toString()) as { status: string; job_id: string };
    assert.deepEqual([summary.job_id, summary.status], [id, 'completed']);
  } finally {
    await demo.stop();
    push.close();
  }
});
