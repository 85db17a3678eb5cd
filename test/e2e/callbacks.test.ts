/**
 * Callback delivery end to end: every dialect, signed (verified by the `standardwebhooks` package), retried on
 * a time-compressed schedule, stopped by 410, dead-lettered and redelivered, fair across hosts, SSRF-guarded.
 * Real receivers on loopback, allowed explicitly with --allow-callback-hosts.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { eventually, GatewayProcess, sleep, tempDir } from '../helpers/gateway-process.js';
import { Receiver } from '../helpers/receiver.js';
import { TestUpstream } from '../helpers/upstream.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OLD_SECRET = 'whsec_c2VjcmV0LWJlaW5nLXJvdGF0ZWQtb3V0LTEyMzQ=';
const ADMIN = 'admin-token-0123456789abcdef';
const upstream = new TestUpstream();
const dir = tempDir();
let gw: GatewayProcess;
const receivers: Receiver[] = [];
const receiver = async (plan: Receiver['plan'] = []) => {
  const r = await new Receiver(plan).start();
  receivers.push(r);
  return r;
};

before(async () => {
  await upstream.start();
  const config = join(dir, 'cb.config.json');
  // A time-compressed retry schedule and the callback settings come from the config file.
  writeFileSync(
    config,
    JSON.stringify({
      callbacks: { retrySchedule: '0s,200ms,200ms,200ms', timeout: '700ms', allowHosts: ['127.0.0.1'] },
      routes: [{ match: 'POST /cart/checkout', callbackBodyField: 'callback_url' }],
    }),
  );
  gw = await new GatewayProcess([
    '--upstream', upstream.url, '--db', `sqlite:${join(dir, 'cb.db')}`, '--config', config,
    '--signing-secret', `${SECRET},${OLD_SECRET}`, '--admin-token', ADMIN, '--sign-ed25519',
  ]).start();
});
after(async () => {
  await gw.stop();
  await upstream.close();
  for (const r of receivers) await r.close();
});

const wh = new Webhook(SECRET.slice('whsec_'.length));
/** Verify with the standardwebhooks package; it JSON-parses the body after checking the signature, so a
 * non-JSON body that verified throws a SyntaxError, which here means "verified". */
function verified(r: { headers: Record<string, unknown>; body: Buffer }, hook = wh): unknown {
  const h = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)]));
  try {
    return hook.verify(r.body.toString('utf8'), h);
  } catch (error) {
    if (error instanceof SyntaxError) return r.body.toString('utf8');
    throw error;
  }
}
const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${gw.url}/_async/admin${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}` } });

describe('dialects and modes', () => {
  test('response redirection: Pragma: redirect + Callback → the response itself, with Status, signed', async () => {
    const rx = await receiver();
    const res = await fetch(`${gw.url}/echo?from=seed000`, { method: 'POST', body: 'hi', headers: { pragma: 'redirect', callback: `<${rx.url}/cb>; method="post"; rel="redirect"` } });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const got = await eventually(async () => rx.received[0]);
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/cb');
    assert.equal(got.headers.status, '200 OK');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['asyncgate-job-id'], id);
    assert.equal(got.headers.link, `<${gw.url}/_async/jobs/${id}>; rel="monitor"`);
    assert.match(String(got.headers['webhook-id']), /^msg_/);
    verified(got);
    // During a key rotation receivers still holding the old key verify too.
    verified(got, new Webhook(OLD_SECRET.slice('whsec_'.length)));
    assert.equal((JSON.parse(got.body.toString()) as { body: string }).body, 'hi');
  });

  test('Prefer: respond-async + Callback with its own secret: signed with it and with the server key', async () => {
    const rx = await receiver();
    const res = await fetch(`${gw.url}/ok`, { headers: { prefer: 'respond-async', callback: `<${rx.url}/own>; rel="respond-async"; method="put"; secret="my-own-secret"` } });
    assert.equal(res.status, 202);
    const got = await eventually(async () => rx.received[0]);
    assert.equal(got.method, 'PUT');
    assert.equal(got.body.toString(), 'Hello world');
    verified(got);
    assert.equal(verified(got, new Webhook(Buffer.from('my-own-secret').toString('base64'))), 'Hello world');
    assert.throws(() => verified(got, new Webhook(Buffer.from('another-secret').toString('base64'))), /signature/i);
  });

  test('Accept-Asynchronous: notify → the status representation; response → the response', async () => {
    const rn = await receiver();
    const rr = await receiver();
    const a = await fetch(`${gw.url}/ok`, { headers: { 'accept-asynchronous': 'notify', 'asynchronous-end-point': `${rn.url}/n` } });
    const b = await fetch(`${gw.url}/ok`, { headers: { 'accept-asynchronous': 'response', 'asynchronous-end-point': `<${rr.url}/r>` } });
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    const n = await eventually(async () => rn.received[0]);
    const status = verified(n) as { status: string; response: { status: number; size: number } };
    assert.equal(status.status, 'Succeeded');
    assert.equal(status.response.size, 11);
    const r = await eventually(async () => rr.received[0]);
    verified(r);
    assert.equal(r.body.toString(), 'Hello world');
  });

  test('Lyst-style callback_url in the body (route opt-in) → resource_url in the 202, field stripped, status summary', async () => {
    const rx = await receiver();
    const res = await fetch(`${gw.url}/cart/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cart_id: 1234, callback_url: `${rx.url}/checkout_complete` }),
    });
    assert.equal(res.status, 202);
    const body = (await res.json()) as { id: string; resource_url: string };
    assert.equal(body.resource_url, `${gw.url}/_async/jobs/${body.id}`);
    const got = await eventually(async () => rx.received[0]);
    const summary = verified(got) as { status: string; source_url: string; job_id: string; status_url: string; response: { status: number } };
    assert.equal(summary.status, 'completed');
    assert.equal(summary.job_id, body.id);
    assert.equal(summary.source_url, `${gw.url}/cart/checkout`);
    assert.equal(summary.status_url, body.resource_url);
    assert.deepEqual(summary.response, { status: 201, body: { order: 'ord_1', cart_id: 1234 } });
    const sent = upstream.requestsFor(body.id)[0]!;
    assert.deepEqual(JSON.parse(sent.body), { cart_id: 1234 });
  });

  test('OData: Prefer: respond-async, callback; url="…" → GET ping, echoed in Preference-Applied', async () => {
    const rx = await receiver();
    const res = await fetch(`${gw.url}/ok`, { headers: { prefer: `respond-async, callback; url="${rx.url}/ping"` } });
    assert.equal(res.headers.get('preference-applied'), 'respond-async, callback');
    await res.json();
    const got = await eventually(async () => rx.received[0]);
    assert.equal(got.method, 'GET');
    assert.equal(got.body.length, 0);
    verified(got);
  });

  test('a callback registered after submission; v1a ed25519 verifies with the published key', async () => {
    const rx = await receiver();
    const res = await fetch(`${gw.url}/slow?ms=300`, { headers: { prefer: 'respond-async' } });
    const { id, links } = (await res.json()) as { id: string; links: { callbacks: { href: string } } };
    const reg = await fetch(links.callbacks.href, { method: 'POST', body: JSON.stringify({ url: `${rx.url}/late`, mode: 'notify' }) });
    assert.equal(reg.status, 201);
    assert.equal(((await reg.json()) as { state: string }).state, 'waiting');
    const got = await eventually(async () => rx.received[0]);
    assert.equal((verified(got) as { id: string }).id, id);
    const { publicKey } = (await (await fetch(`${gw.url}/_async/webhook-key`)).json()) as { publicKey: string };
    const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey.slice(5), 'base64')]), format: 'der', type: 'spki' });
    const v1a = String(got.headers['webhook-signature']).split(' ').find((s) => s.startsWith('v1a,'))!;
    const content = `${got.headers['webhook-id']}.${got.headers['webhook-timestamp']}.${got.body.toString()}`;
    assert.ok(verify(null, Buffer.from(content), key, Buffer.from(v1a.slice(4), 'base64')));
  });
});

describe('retries, 410, dead letters', () => {
  test('fails twice then succeeds: three attempts, one webhook-id', async () => {
    const rx = await receiver([500, 503]);
    const res = await fetch(`${gw.url}/ok`, { headers: { pragma: 'redirect', callback: `<${rx.url}/flaky>` } });
    const { id } = (await res.json()) as { id: string };
    await eventually(async () => rx.received.length === 3);
    assert.equal(new Set(rx.received.map((r) => r.headers['webhook-id'])).size, 1);
    const [d] = ((await (await admin(`/deliveries?job=${id}`)).json()) as { items: Array<{ id: string; state: string; attempts: number }> }).items;
    assert.equal(d?.state, 'delivered');
    const detail = (await (await admin(`/deliveries/${d!.id}`)).json()) as { attempts: Array<{ status: number; snippet: string; latencyMs: number }> };
    assert.deepEqual(detail.attempts.map((a) => a.status), [500, 503, 200]);
    assert.equal(detail.attempts[0]!.snippet, 'answer 500');
  });

  test('a redirect is not followed: it counts as a failed attempt', async () => {
    const elsewhere = await receiver();
    const rx = await receiver([{ status: 307, delayMs: 0, headers: { location: `${elsewhere.url}/moved` } }]);
    const res = await fetch(`${gw.url}/ok`, { headers: { pragma: 'redirect', callback: `<${rx.url}/redirect>` } });
    const { id } = (await res.json()) as { id: string };
    await eventually(async () => rx.received.length === 2);
    assert.equal(elsewhere.received.length, 0);
    const [d] = ((await (await admin(`/deliveries?job=${id}`)).json()) as { items: Array<{ id: string }> }).items;
    const detail = (await (await admin(`/deliveries/${d!.id}`)).json()) as { attempts: Array<{ status: number; error: string }> };
    assert.deepEqual(detail.attempts.map((a) => a.status), [307, 200]);
    assert.match(detail.attempts[0]!.error, /answered 307/);
  });

  test('410 Gone stops at once', async () => {
    const rx = await receiver([410]);
    const res = await fetch(`${gw.url}/ok`, { headers: { pragma: 'redirect', callback: `<${rx.url}/gone>` } });
    const { id } = (await res.json()) as { id: string };
    const d = await eventually(async () => {
      const [x] = ((await (await admin(`/deliveries?job=${id}`)).json()) as { items: Array<{ state: string }> }).items;
      return x?.state === 'gone' ? x : undefined;
    });
    assert.equal(d.state, 'gone');
    await sleep(800);
    assert.equal(rx.received.length, 1);
  });

  test('a receiver that hangs past the timeout waits at least 60 s before the next attempt', async () => {
    const rx = await receiver(['hang']);
    const res = await fetch(`${gw.url}/ok`, { headers: { pragma: 'redirect', callback: `<${rx.url}/hang>` } });
    const { id } = (await res.json()) as { id: string };
    const d = await eventually(async () => {
      const [x] = ((await (await admin(`/deliveries?job=${id}`)).json()) as { items: Array<{ state: string; attempts: number; nextAttemptAt: string; lastError: string }> }).items;
      return x && x.attempts === 1 ? x : undefined;
    });
    assert.equal(d.state, 'pending');
    assert.match(d.lastError, /no answer within 700 ms/);
    assert.ok(Date.parse(d.nextAttemptAt) - Date.now() > 55_000);
  });

  test('after the last attempt: a dead letter, redelivered one by one and in bulk', async () => {
    const rx = await receiver([500, 500, 500, 500, 500, 500, 500, 500]);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gw.url}/ok`, { headers: { pragma: 'redirect', callback: `<${rx.url}/dead${i}>` } });
      ids.push(((await res.json()) as { id: string }).id);
    }
    const since = new Date(Date.now() - 1000).toISOString();
    const dead = await eventually(async () => {
      const list = ((await (await admin('/deliveries?state=failed')).json()) as { items: Array<{ id: string; jobId: string; attempts: number }> }).items.filter((d) => ids.includes(d.jobId));
      return list.length === 2 ? list : undefined;
    });
    assert.ok(dead.every((d) => d.attempts === 4));
    rx.plan = [];
    const one = await admin(`/deliveries/${dead[0]!.id}/redeliver`, { method: 'POST' });
    assert.equal(one.status, 200);
    await eventually(async () => rx.received.filter((r) => r.url === '/dead0' || r.url === '/dead1').length === 9);
    const bulk = (await (await admin(`/deliveries/redeliver?since=${encodeURIComponent(since)}`, { method: 'POST' })).json()) as { redelivered: number };
    assert.equal(bulk.redelivered, 1);
    await eventually(async () => {
      const list = ((await (await admin('/deliveries?state=delivered')).json()) as { items: Array<{ jobId: string }> }).items;
      return ids.every((id) => list.some((d) => d.jobId === id));
    });
  });

  test('admin: redelivering a delivery that has not finished says so (409), state= is read in any case', async () => {
    const rx = await receiver();
    const res = await fetch(`${gw.url}/slow?ms=3000`, { headers: { pragma: 'redirect', callback: `<${rx.url}/later>` } });
    const { id } = (await res.json()) as { id: string };
    const list = (await (await admin(`/deliveries?job=${id}&state=WAITING`)).json()) as { items: Array<{ id: string; state: string }> };
    assert.deepEqual(list.items.map((d) => d.state), ['waiting']);
    const again = await admin(`/deliveries/${list.items[0]!.id}/redeliver`, { method: 'POST' });
    assert.equal(again.status, 409);
    const problem = (await again.json()) as { type: string; detail: string; delivery: { state: string } };
    assert.equal(problem.type, 'urn:asyncgate:problem:delivery-not-finished');
    assert.match(problem.detail, /waiting/);
    assert.equal(problem.delivery.state, 'waiting');
  });

  test('a slow receiver does not delay deliveries to another host', async () => {
    const slow = await receiver(['hang', 'hang', 'hang', 'hang', 'hang', 'hang']);
    const fast = await receiver();
    for (let i = 0; i < 6; i++) {
      await (await fetch(`${gw.url}/ok`, { headers: { pragma: 'redirect', callback: `<${slow.url}/s${i}>` } })).json();
    }
    const started = Date.now();
    await (await fetch(`${gw.url}/ok`, { headers: { pragma: 'redirect', callback: `<${fast.url}/f>` } })).json();
    await eventually(async () => fast.received.length === 1, 5_000, 20);
    assert.ok(Date.now() - started < 3_000);
  });
});

describe('SSRF guard', () => {
  test('private and loopback callback URLs are refused up front with 400, in every notation', async () => {
    // This gateway allows 127.0.0.1 (the test receivers); loopback notations are refused in the unit tests.
    // 167772161 = 0xa.0.0.1 = 012.0.0.1 = 10.0.0.1.
    for (const url of ['http://10.0.0.1/cb', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/cb', 'http://[::ffff:10.0.0.1]/cb', 'http://167772161/cb', 'http://0xa.0.0.1/cb', 'http://012.0.0.1/cb', 'http://[fd00:ec2::254]/cb', 'http://192.168.1.1/cb', 'http://100.100.100.200/cb']) {
      const res = await fetch(`${gw.url}/ok`, { headers: { pragma: 'redirect', callback: `<${url}>` } });
      assert.equal(res.status, 400, url);
      const problem = (await res.json()) as { type: string };
      // 127.x is allowed in this gateway (--allow-callback-hosts 127.0.0.1); the rest are refused.
      assert.equal(problem.type, 'urn:asyncgate:problem:callback-refused', url);
    }
  });

  test('malformed callbacks are 400 invalid-callback and nothing is proxied', async () => {
    for (const cb of ['<ftp://x.example/cb>', '<https://user:pw@x.example/cb>', '<https://x.example/cb>; method="delete"', 'no-brackets']) {
      const res = await fetch(`${gw.url}/ok?marker=badcb`, { headers: { pragma: 'redirect', callback: cb } });
      assert.equal(res.status, 400, cb);
      assert.equal(((await res.json()) as { type: string }).type, 'urn:asyncgate:problem:invalid-callback');
    }
    assert.equal(upstream.seen.filter((r) => r.url.includes('marker=badcb')).length, 0);
  });
});

describe('per-host bound', () => {
  let bounded: GatewayProcess;
  before(async () => {
    const config = join(dir, 'per-host.config.json');
    writeFileSync(config, JSON.stringify({ callbacks: { perHost: 2, allowHosts: ['127.0.0.1'] } }));
    bounded = await new GatewayProcess([
      '--upstream', upstream.url, '--db', `sqlite:${join(dir, 'per-host.db')}`, '--config', config, '--signing-secret', SECRET,
    ]).start();
  });
  after(async () => {
    await bounded.stop();
  });

  test('at most perHost requests are open at one receiver; every callback still arrives once', async () => {
    // Each answer takes 300 ms, so with 2 slots a third request can only start once the first has ended.
    const slow = await receiver(Array.from({ length: 6 }, () => ({ status: 200, delayMs: 300 })));
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) =>
        (await fetch(`${bounded.url}/ok`, { headers: { pragma: 'redirect', callback: `<${slow.url}/p${i}>` } })).json(),
      ),
    );
    await eventually(async () => slow.received.length === 6, 20_000, 50);
    const at = slow.received.map((r) => r.at).sort((a, b) => a - b);
    for (let i = 0; i + 2 < at.length; i++) assert.ok(at[i + 2]! - at[i]! >= 290, `arrivals ${at.join(', ')}`);
    assert.equal(new Set(slow.received.map((r) => r.url)).size, 6);
  });

  test('without --sign-ed25519: HMAC v1 signatures only, and the key endpoint says how to turn v1a on', async () => {
    const rx = await receiver();
    await fetch(`${bounded.url}/ok`, { headers: { pragma: 'redirect', callback: `<${rx.url}/v1-only>` } });
    const got = await eventually(async () => rx.received[0]);
    verified(got);
    assert.ok(String(got.headers['webhook-signature']).split(' ').every((s) => s.startsWith('v1,')));
    const key = await fetch(`${bounded.url}/_async/webhook-key`);
    assert.equal(key.status, 404);
    assert.equal(key.headers.get('content-type'), 'application/problem+json');
    assert.match(((await key.json()) as { detail: string }).detail, /--sign-ed25519/);
  });
});
