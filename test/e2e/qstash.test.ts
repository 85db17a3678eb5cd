/**
 * The QStash-compatible API driven by the official `@upstash/qstash` SDK (pinned in devDependencies) against a
 * real `asyncgate serve --qstash` over loopback: publish with its options, batch, delay and not-before,
 * retries with a retry delay, callbacks and failure callbacks, deduplication, message get and cancel, the DLQ,
 * logs, signing keys and `Receiver.verify`, owner isolation and the SSRF guard.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@upstash/qstash';
import { QstashError, Receiver as SignatureReceiver } from '@upstash/qstash';
import { qstashClient } from '../helpers/qstash.js';
import { eventually, GatewayProcess, sleep, tempDir } from '../helpers/gateway-process.js';
import { Receiver } from '../helpers/receiver.js';
import { TestUpstream } from '../helpers/upstream.js';

const TOKEN_A = 'qstash-token-a-0123456789abcdef';
const TOKEN_B = 'qstash-token-b-0123456789abcdef';
const upstream = new TestUpstream();
const dir = tempDir();
let gw: GatewayProcess;
let a: Client;
let b: Client;
const receivers: Receiver[] = [];
const receiver = async (plan: Receiver['plan'] = []) => {
  const r = await new Receiver(plan).start();
  receivers.push(r);
  return r;
};
const client = (token: string) => qstashClient(gw.url, token);
const keysOf = async (token: string) => (await (await fetch(`${gw.url}/v2/keys`, { headers: { authorization: `Bearer ${token}` } })).json()) as { current: string; next: string };

before(async () => {
  await upstream.start();
  gw = await new GatewayProcess([
    '--upstream',
    upstream.url,
    '--db',
    `sqlite:${dir}/qstash.db`,
    '--qstash',
    '--qstash-token',
    `${TOKEN_A},${TOKEN_B}`,
    '--allow-callback-hosts',
    '127.0.0.1',
    '--retry-schedule',
    '0s,100ms,100ms',
  ]).start();
  a = client(TOKEN_A);
  b = client(TOKEN_B);
});

after(async () => {
  await gw?.stop();
  await Promise.all(receivers.map((r) => r.close()));
  await upstream.close();
});

describe('publishing', () => {
  test('publishJSON delivers the body and the forwarded headers, signed so that Receiver.verify accepts it and rejects a tampered body', async () => {
    const r = await receiver();
    const { messageId } = await a.publishJSON({ url: `${r.url}/hook?x=1`, body: { hello: 'world' }, headers: { 'x-custom': 'yes' } });
    await eventually(async () => r.received.length === 1);
    const got = r.received[0]!;
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/hook?x=1');
    assert.deepEqual(JSON.parse(got.body.toString()), { hello: 'world' });
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['x-custom'], 'yes');
    assert.equal(got.headers['upstash-message-id'], messageId);
    assert.equal(got.headers['upstash-retried'], '0');
    assert.equal(got.headers['user-agent'], 'Upstash-QStash');
    const keys = await keysOf(TOKEN_A);
    const verifier = new SignatureReceiver({ currentSigningKey: keys.current, nextSigningKey: keys.next });
    const signature = String(got.headers['upstash-signature']);
    assert.equal(await verifier.verify({ signature, body: got.body.toString(), url: `${r.url}/hook?x=1` }), true);
    await assert.rejects(verifier.verify({ signature, body: '{"hello":"tampered"}' }), /body hash does not match/);
    // Another token's keys do not verify it.
    const other = await keysOf(TOKEN_B);
    await assert.rejects(new SignatureReceiver({ currentSigningKey: other.current, nextSigningKey: other.next }).verify({ signature, body: got.body.toString() }));
  });

  test('Upstash-Method and a plain-text body are sent as given', async () => {
    const r = await receiver();
    await a.publish({ url: `${r.url}/put`, method: 'PUT', body: 'plain text', headers: { 'content-type': 'text/plain' } });
    await eventually(async () => r.received.length === 1);
    assert.equal(r.received[0]!.method, 'PUT');
    assert.equal(r.received[0]!.body.toString(), 'plain text');
    // A GET goes without the body it was published with, and its signature covers the empty body it has.
    await a.publish({ url: `${r.url}/get`, method: 'GET', body: 'dropped' });
    await eventually(async () => r.received.length === 2);
    const get = r.received[1]!;
    assert.equal(get.method, 'GET');
    assert.equal(get.body.length, 0);
    const keys = await keysOf(TOKEN_A);
    assert.equal(await new SignatureReceiver({ currentSigningKey: keys.current, nextSigningKey: keys.next }).verify({ signature: String(get.headers['upstash-signature']), body: '' }), true);
  });

  test('a delay holds the message back: it fires no earlier, and soon after', async () => {
    const r = await receiver();
    const sent = Date.now();
    const { messageId } = await a.publishJSON({ url: r.url, body: { n: 1 }, delay: 2 });
    const message = await a.messages.get(messageId);
    assert.ok(message.notBefore! >= sent + 2000 - 5, `notBefore ${message.notBefore} is 2 s on`);
    await sleep(1500);
    assert.equal(r.received.length, 0, 'not before its time');
    await eventually(async () => r.received.length === 1, 5000);
    const late = r.received[0]!.at - (sent + 2000);
    assert.ok(late >= -5 && late < 1500, `fired ${late} ms after its time`);
  });

  test('not-before (unix seconds) works the same way', async () => {
    const r = await receiver();
    const notBefore = Math.ceil(Date.now() / 1000) + 2;
    await a.publishJSON({ url: r.url, body: {}, notBefore });
    await sleep(1000);
    assert.equal(r.received.length, 0);
    await eventually(async () => r.received.length === 1, 5000);
    assert.ok(r.received[0]!.at >= notBefore * 1000 - 5);
  });

  test('batch publishes every message', async () => {
    const r = await receiver();
    const out = await a.batchJSON([
      { url: `${r.url}/one`, body: { n: 1 } },
      { url: `${r.url}/two`, body: { n: 2 } },
    ]);
    assert.equal(out.length, 2);
    await eventually(async () => r.received.length === 2);
    assert.deepEqual(r.received.map((x) => x.url).sort(), ['/one', '/two']);
  });

  test('a deduplication id, or content-based deduplication, returns the first message again', async () => {
    const r = await receiver();
    const first = await a.publishJSON({ url: r.url, body: { a: 1 }, deduplicationId: 'order-7' });
    const again = await a.publishJSON({ url: r.url, body: { a: 2 }, deduplicationId: 'order-7' });
    assert.equal(again.messageId, first.messageId);
    assert.equal(again.deduplicated, true);
    const c1 = await a.publishJSON({ url: r.url, body: { same: true }, contentBasedDeduplication: true });
    const c2 = await a.publishJSON({ url: r.url, body: { same: true }, contentBasedDeduplication: true });
    assert.equal(c2.messageId, c1.messageId);
    // The same id for another token is another message.
    const theirs = await b.publishJSON({ url: r.url, body: { a: 1 }, deduplicationId: 'order-7' });
    assert.notEqual(theirs.messageId, first.messageId);
    await eventually(async () => r.received.length === 3);
    await sleep(300);
    assert.equal(r.received.length, 3);
  });
});

describe('retries and callbacks', () => {
  test('a failing destination is retried after the retry delay until it succeeds; the callback gets its answer', async () => {
    const r = await receiver([500, 503]);
    const cb = await receiver();
    const { messageId } = await a.publishJSON({ url: r.url, body: { job: 1 }, retries: 3, retryDelay: '200 * (1 + retried)', callback: `${cb.url}/done` });
    await eventually(async () => r.received.length === 3, 5000);
    assert.deepEqual(r.received.map((x) => x.headers['upstash-retried']), ['0', '1', '2']);
    const gaps = [r.received[1]!.at - r.received[0]!.at, r.received[2]!.at - r.received[1]!.at];
    // No earlier than the delay, and not at the next poll either: the retry wakes the claim at its time.
    assert.ok(gaps[0]! >= 190 && gaps[1]! >= 390 && gaps[0]! < 700 && gaps[1]! < 900, `retry delays ${gaps.join(', ')} ms`);
    await eventually(async () => cb.received.length === 1);
    const body = JSON.parse(cb.received[0]!.body.toString()) as Record<string, unknown>;
    assert.equal(body.status, 200);
    assert.equal(Buffer.from(String(body.body), 'base64').toString(), 'answer 200');
    assert.equal(body.retried, 2);
    assert.equal(body.maxRetries, 3);
    assert.equal(body.sourceMessageId, messageId);
    const keys = await keysOf(TOKEN_A);
    const verifier = new SignatureReceiver({ currentSigningKey: keys.current, nextSigningKey: keys.next });
    assert.equal(await verifier.verify({ signature: String(cb.received[0]!.headers['upstash-signature']), body: cb.received[0]!.body.toString(), url: `${cb.url}/done` }), true);
  });

  test('after the last retry: the failure callback, a DLQ entry; DLQ retry delivers it, DLQ delete removes it', async () => {
    const r = await receiver([500, 500, 500, 500]);
    const failure = await receiver();
    const { messageId } = await a.publishJSON({ url: r.url, body: { job: 2 }, retries: 1, retryDelay: '50', failureCallback: `${failure.url}/failed`, label: 'nightly' });
    await eventually(async () => failure.received.length === 1, 5000);
    assert.equal(r.received.length, 2);
    const body = JSON.parse(failure.received[0]!.body.toString()) as Record<string, unknown>;
    assert.equal(body.status, 500);
    assert.equal(body.dlqId, messageId);
    const dlq = await a.dlq.listMessages({ filter: { label: 'nightly' } });
    assert.deepEqual(dlq.messages.map((m) => m.messageId), [messageId]);
    assert.equal(dlq.messages[0]!.responseStatus, 500);
    assert.equal(dlq.messages[0]!.responseBody, 'answer 500');
    assert.equal((await b.dlq.listMessages()).messages.length, 0, 'another token sees none of it');
    // Retried from the DLQ: the destination answers 200 this time (its plan has two 500s left, then 200s).
    r.plan = [];
    const retried = await a.dlq.retry(messageId);
    assert.deepEqual(retried.responses, [{ messageId }]);
    await eventually(async () => r.received.length === 3);
    await eventually(async () => (await a.dlq.listMessages({ filter: { label: 'nightly' } })).messages.length === 0);
    // A second one, deleted from the DLQ.
    const gone = await a.publishJSON({ url: r.url, body: {}, retries: 0, label: 'deleted' });
    r.plan = [500];
    await eventually(async () => (await a.dlq.listMessages({ filter: { label: 'deleted' } })).messages.length === 1, 5000);
    assert.deepEqual(await a.dlq.delete(gone.messageId), { deleted: 1 });
    assert.equal((await a.dlq.listMessages({ filter: { label: 'deleted' } })).messages.length, 0);
  });
});

describe('timeouts and the native monitor', () => {
  test('Upstash-Timeout ends an attempt that takes longer; with no retries left the message is dead-lettered', async () => {
    const r = await receiver(['hang']);
    const { messageId } = await a.publishJSON({ url: r.url, body: {}, retries: 0, timeout: '1s', label: 'timeout' });
    await eventually(async () => (await a.dlq.listMessages({ filter: { label: 'timeout' } })).messages.length === 1, 5000);
    assert.equal(r.received.length, 1);
    const logs = await a.logs({ filter: { messageId } });
    assert.equal(logs.logs[0]!.state, 'FAILED');
    assert.match(logs.logs[0]!.error ?? '', /did not answer within the timeout/);
  });

  test('a message is a job: its monitor answers the same token, and 404 to another', async () => {
    const r = await receiver();
    const { messageId } = await a.publishJSON({ url: r.url, body: {} });
    await eventually(async () => r.received.length === 1);
    const mine = await fetch(`${gw.url}/_async/jobs/${messageId}`, { headers: { authorization: `Bearer ${TOKEN_A}` } });
    assert.equal(mine.status, 200);
    assert.equal(((await mine.json()) as { id: string }).id, messageId);
    assert.equal((await fetch(`${gw.url}/_async/jobs/${messageId}`, { headers: { authorization: `Bearer ${TOKEN_B}` } })).status, 404);
  });
});

describe('messages', () => {
  test('get and cancel a pending message; it is never delivered; another token gets 404', async () => {
    const r = await receiver();
    const { messageId } = await a.publishJSON({ url: r.url, body: { later: true }, delay: '30s', retries: 2, callback: `${r.url}/cb` });
    const m = await a.messages.get(messageId);
    assert.equal(m.messageId, messageId);
    assert.equal(m.url, r.url);
    assert.equal(m.method, 'POST');
    assert.equal(m.maxRetries, 2);
    assert.equal(m.callback, `${r.url}/cb`);
    assert.equal(m.body, '{"later":true}');
    await assert.rejects(b.messages.get(messageId), (e: unknown) => e instanceof QstashError && e.status === 404);
    await assert.rejects(b.messages.cancel(messageId), (e: unknown) => e instanceof QstashError && e.status === 404);
    assert.deepEqual(await a.messages.cancel(messageId), { cancelled: 1 });
    const logs = await a.logs({ filter: { messageId } });
    assert.deepEqual(logs.logs.map((l) => l.state), ['CANCELED', 'CREATED']);
  });

  test('cancel by filter cancels only the matching pending messages', async () => {
    const r = await receiver();
    await a.publishJSON({ url: r.url, body: {}, delay: '30s', label: 'batch-x' });
    await a.publishJSON({ url: r.url, body: {}, delay: '30s', label: 'batch-x' });
    const keep = await a.publishJSON({ url: r.url, body: {}, delay: '30s', label: 'batch-y' });
    assert.deepEqual(await a.messages.cancel({ filter: { label: 'batch-x' } }), { cancelled: 2 });
    assert.equal((await a.messages.get(keep.messageId)).messageId, keep.messageId);
    assert.deepEqual(await a.messages.cancel([keep.messageId]), { cancelled: 1 });
  });

  test('logs follow a message from CREATED to DELIVERED', async () => {
    const r = await receiver([500]);
    const { messageId } = await a.publishJSON({ url: r.url, body: {}, retries: 1, retryDelay: '10' });
    await eventually(async () => (await a.logs({ filter: { messageId } })).logs[0]?.state === 'DELIVERED', 5000);
    const states = (await a.logs({ filter: { messageId } })).logs.map((l) => l.state).reverse();
    assert.deepEqual(states, ['CREATED', 'ACTIVE', 'RETRY', 'ACTIVE', 'DELIVERED']);
  });
});

describe('keys, tokens and refusals', () => {
  test('rotating the keys: the next key signs, and a receiver holding both still verifies', async () => {
    const before = await keysOf(TOKEN_B);
    const rotated = (await (await fetch(`${gw.url}/v2/keys/rotate`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN_B}` } })).json()) as { current: string; next: string };
    assert.equal(rotated.current, before.next);
    assert.notEqual(rotated.next, before.next);
    const r = await receiver();
    await b.publishJSON({ url: r.url, body: { rotated: true } });
    await eventually(async () => r.received.length === 1);
    const got = r.received[0]!;
    const verifier = new SignatureReceiver({ currentSigningKey: before.current, nextSigningKey: before.next });
    assert.equal(await verifier.verify({ signature: String(got.headers['upstash-signature']), body: got.body.toString() }), true);
  });

  test('a missing or unknown token is 401, with QStash\'s error member', async () => {
    const res = await fetch(`${gw.url}/v2/messages/x`, { headers: { authorization: 'Bearer not-a-token-of-ours' } });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { error: string };
    assert.match(body.error, /--qstash-token/);
    await assert.rejects(client('not-a-token-of-ours-either').publishJSON({ url: 'http://127.0.0.1:1/', body: {} }), (e: unknown) => e instanceof QstashError && e.status === 401);
  });

  test('a destination the SSRF guard refuses answers the SDK a clear 400, and nothing is kept', async () => {
    await assert.rejects(a.publishJSON({ url: 'http://10.0.0.7/internal', body: {} }), (e: unknown) => {
      assert.ok(e instanceof QstashError);
      assert.equal(e.status, 400);
      assert.match(e.message, /destination.*refused.*private/i);
      return true;
    });
    await assert.rejects(a.publishJSON({ url: 'http://127.0.0.1:1/', body: {}, callback: 'http://169.254.169.254/latest' }), /Upstash-Callback.*refused/);
  });

  test('malformed Upstash headers are refused with the header named', async () => {
    const bad = async (headers: Record<string, string>, pattern: RegExp) => {
      const res = await fetch(`${gw.url}/v2/publish/http://127.0.0.1:1/`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN_A}`, ...headers }, body: 'x' });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, pattern);
    };
    await bad({ 'upstash-delay': 'soon' }, /Upstash-Delay/);
    await bad({ 'upstash-retries': '-1' }, /Upstash-Retries/);
    await bad({ 'upstash-retry-delay': 'process.exit()' }, /Upstash-Retry-Delay/);
    await bad({ 'upstash-method': 'BREW' }, /Upstash-Method/);
  });

  test('paths it does not serve say so', async () => {
    const res = await fetch(`${gw.url}/v2/workflows/runs/x`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN_A}` } });
    assert.equal(res.status, 501);
    // The proxied API keeps every other path.
    assert.equal((await fetch(`${gw.url}/ok`)).status, 200);
  });
});
