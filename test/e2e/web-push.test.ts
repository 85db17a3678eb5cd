/**
 * Web Push end to end (docs/push.md), on an in-process gateway over a real SQLite file and a push service of
 * this test's own on loopback (allowed with allowHosts 127.0.0.1): a browser-made subscription (its own P-256
 * key pair and auth secret), a job asking for a push by body field or header, the message decrypted (RFC
 * 8291) and its VAPID JWT verified (RFC 8292) against {prefix}/push-key; 503 then 201 retried; 410 removes the
 * subscription; another caller's subscriptions are never listed, removed or sent to.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveSettings } from '../../src/config/settings.js';
import { createGateway, type Gateway } from '../../src/gateway/server.js';
import { eventually, tempDir } from '../helpers/gateway-process.js';
import { TinyServer } from '../helpers/tiny-server.js';
import { PushKeys, verifyVapid } from '../helpers/web-push-client.js';

const PREFIX = '/_async';
const ADMIN = 'admin-token-0123456789abcdef';
const ALICE = 'Bearer alice-0123456789';
const BOB = 'Bearer bob-0123456789';
const SUBJECT = 'mailto:ops@asyncgate.test';

interface PushRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A push service: records every request raw; answers each path with its queued statuses, then 201. */
class PushService {
  readonly seen: PushRequest[] = [];
  readonly answers = new Map<string, number[]>();
  url = '';
  private readonly server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      this.seen.push({ path, headers: req.headers, body: Buffer.concat(parts) });
      const status = this.answers.get(path)?.shift() ?? 201;
      res.writeHead(status, status === 201 ? { location: `${path}/msg/${this.seen.length}` } : {}).end();
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  at(path: string): PushRequest[] {
    return this.seen.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const dir = tempDir('asyncgate-push-');
const up = new TinyServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
const push = new PushService();
let gw: Gateway;
let base: string;
let vapidKey: string;

before(async () => {
  await up.start();
  await push.start();
  const settings = resolveSettings(
    { routes: [{ match: 'POST /orders', async: 'allowed', pushBodyField: 'push_notification' }] },
    {
      upstream: up.url,
      db: `sqlite:${join(dir, 'jobs.db')}`,
      adminToken: ADMIN,
      port: 0,
      callbacks: { allowHosts: '127.0.0.1', retrySchedule: '0s,50ms,50ms', vapidSubject: SUBJECT },
    },
  );
  gw = await createGateway(settings, pino({ level: 'silent' }));
  base = await gw.listen();
  const key = await fetch(`${base}${PREFIX}/push-key`);
  assert.equal(key.status, 200);
  vapidKey = ((await key.json()) as { publicKey: string }).publicKey;
});

after(async () => {
  await gw.close(1000);
  await up.close();
  await push.close();
  rmSync(dir, { recursive: true, force: true });
});

async function subscribe(auth: string, keys: PushKeys, path: string): Promise<string> {
  const res = await fetch(`${base}${PREFIX}/push-subscriptions`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(keys.subscription(`${push.url}${path}`)),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const body = (await res.json()) as { id: string; endpoint: string };
  assert.equal(body.endpoint, `${push.url}${path}`);
  return body.id;
}

async function listed(auth: string): Promise<string[]> {
  const res = await fetch(`${base}${PREFIX}/push-subscriptions`, { headers: { authorization: auth } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { subscriptions: Array<{ endpoint: string }> }).subscriptions.map((s) => new URL(s.endpoint).pathname);
}

async function submit(auth: string, init: { path: string; headers?: Record<string, string>; body: string }): Promise<string> {
  const res = await fetch(`${base}${init.path}`, { method: 'POST', headers: { authorization: auth, ...init.headers }, body: init.body });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

/** The decrypted summary of the push for `jobId` sent to `path`, once it arrived. */
async function messageFor(keys: PushKeys, path: string, jobId: string): Promise<{ req: PushRequest; summary: Record<string, unknown> }> {
  return eventually(async () => {
    for (const req of push.at(path)) {
      const summary = JSON.parse(keys.decrypt(req.body).toString('utf8')) as Record<string, unknown>;
      if (summary.job_id === jobId) return { req, summary };
    }
    return undefined;
  });
}

interface DeliveryRow {
  url: string;
  mode: string;
  state: string;
  attempts: number;
  lastStatus: number | null;
}

/** The job's deliveries, as the admin API lists them. */
async function deliveriesOf(jobId: string): Promise<DeliveryRow[]> {
  const res = await fetch(`${base}${PREFIX}/admin/deliveries?job=${jobId}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: DeliveryRow[] }).items;
}

const alice = new PushKeys();
const bob = new PushKeys();

test('subscriptions are checked: problem+json for bad input, the SSRF guard up front', async () => {
  const post = (body: unknown) =>
    fetch(`${base}${PREFIX}/push-subscriptions`, { method: 'POST', headers: { authorization: ALICE, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const cases: Array<[unknown, string]> = [
    ['not an object', 'invalid-push-subscription'],
    [{ endpoint: `${push.url}/x` }, 'invalid-push-subscription'],
    [{ ...alice.subscription(`${push.url}/x`), keys: { p256dh: 'AAAA', auth: alice.auth.toString('base64url') } }, 'invalid-push-subscription'],
    [{ ...alice.subscription(`${push.url}/x`), keys: { p256dh: alice.publicKey.toString('base64url'), auth: 'AAAA' } }, 'invalid-push-subscription'],
    [alice.subscription('ftp://push.example/x'), 'invalid-push-subscription'],
    [alice.subscription('http://10.1.2.3/x'), 'callback-refused'],
  ];
  for (const [body, type] of cases) {
    const res = await post(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(((await res.json()) as { type: string }).type, `urn:asyncgate:problem:${type}`);
  }
  assert.deepEqual(await listed(ALICE), []);
});

test('a job asking by body field pushes an encrypted summary with a VAPID JWT to each of its owner\'s subscriptions, never another\'s', async () => {
  await subscribe(ALICE, alice, '/alice/1');
  const bobs = await subscribe(BOB, bob, '/bob/1');
  assert.deepEqual(await listed(ALICE), ['/alice/1']);
  assert.deepEqual(await listed(BOB), ['/bob/1']);
  // Another caller's subscription is not there for Alice: not even to remove.
  const removed = await fetch(`${base}${PREFIX}/push-subscriptions/${bobs}`, { method: 'DELETE', headers: { authorization: ALICE } });
  assert.equal(removed.status, 404);
  assert.equal(((await removed.json()) as { type: string }).type, 'urn:asyncgate:problem:push-subscription-not-found');
  assert.deepEqual(await listed(BOB), ['/bob/1']);

  const id = await submit(ALICE, { path: '/orders', headers: { 'content-type': 'application/json' }, body: '{"item":7,"push_notification":true}' });
  const { req, summary } = await messageFor(alice, '/alice/1', id);
  assert.deepEqual(summary, { status: 'completed', job_id: id, status_url: `${base}${PREFIX}/jobs/${id}`, response_status: 200 });
  // The field was cut out of what the upstream got.
  assert.equal(up.seen.find((r) => r.headers['asyncgate-job-id'] === id)?.body, '{"item":7}');
  assert.equal(req.headers['content-encoding'], 'aes128gcm');
  assert.equal(req.headers.ttl, String(24 * 3600));
  assert.equal(req.headers.urgency, 'normal');
  assert.ok(req.body.length <= 4096);
  const claims = verifyVapid(req.headers.authorization, vapidKey);
  assert.equal(claims.aud, push.url);
  assert.equal(claims.sub, SUBJECT);
  assert.ok(claims.exp > Date.now() / 1000 && claims.exp <= Date.now() / 1000 + 24 * 3600);
  // The job's deliveries are Alice's subscription alone.
  assert.deepEqual((await deliveriesOf(id)).map((d) => [d.mode, d.url]), [['push', `${push.url}/alice/1`]]);
  assert.equal(push.at('/bob/1').length, 0);
});

test('a request without a JSON body asks with Asyncgate-Push: on', async () => {
  const id = await submit(ALICE, { path: '/plain', headers: { 'content-type': 'text/plain', 'asyncgate-push': 'on' }, body: 'hello' });
  const { summary } = await messageFor(alice, '/alice/1', id);
  assert.equal(summary.status, 'completed');
  const bad = await fetch(`${base}/plain`, { method: 'POST', headers: { authorization: ALICE, 'asyncgate-push': 'yes' }, body: 'x' });
  assert.equal(bad.status, 400);
  assert.equal(push.at('/bob/1').length, 0);
});

test('a 503 from the push service is retried until it answers 201', async () => {
  const keys = new PushKeys();
  await subscribe(ALICE, keys, '/alice/flaky');
  push.answers.set('/alice/flaky', [503]);
  const id = await submit(ALICE, { path: '/plain', headers: { 'asyncgate-push': 'on' }, body: 'x' });
  await eventually(async () => push.at('/alice/flaky').length >= 2 || undefined);
  const both = push.at('/alice/flaky').map((r) => JSON.parse(keys.decrypt(r.body).toString('utf8')) as { job_id: string });
  assert.deepEqual(both.map((s) => s.job_id), [id, id]);
  const delivery = await eventually(async () => {
    const flaky = (await deliveriesOf(id)).find((d) => d.url.endsWith('/alice/flaky'));
    return flaky?.state === 'delivered' && flaky;
  });
  assert.deepEqual([delivery?.url, delivery?.attempts, delivery?.lastStatus], [`${push.url}/alice/flaky`, 2, 201]);
});

test('a 410 from the push service removes the subscription (RFC 8030 §7.3)', async () => {
  const keys = new PushKeys();
  await subscribe(ALICE, keys, '/alice/gone');
  push.answers.set('/alice/gone', [410]);
  assert.ok((await listed(ALICE)).includes('/alice/gone'));
  const id = await submit(ALICE, { path: '/plain', headers: { 'asyncgate-push': 'on' }, body: 'x' });
  await messageFor(keys, '/alice/gone', id);
  await eventually(async () => !(await listed(ALICE)).includes('/alice/gone') || undefined);
  // A later job sends it nothing.
  const next = await submit(ALICE, { path: '/plain', headers: { 'asyncgate-push': 'on' }, body: 'y' });
  await messageFor(alice, '/alice/1', next);
  assert.equal(push.at('/alice/gone').length, 1);
  assert.equal(push.at('/bob/1').length, 0);
});

test('a caller removes its own subscription', async () => {
  const keys = new PushKeys();
  const id = await subscribe(BOB, keys, '/bob/2');
  const res = await fetch(`${base}${PREFIX}/push-subscriptions/${id}`, { method: 'DELETE', headers: { authorization: BOB } });
  assert.equal(res.status, 204);
  assert.deepEqual(await listed(BOB), ['/bob/1']);
});
