/**
 * Nothing a client sends crashes the gateway or gets a 5xx of its own making: random control headers,
 * paths and methods, sent over raw sockets.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { TestUpstream } from '../helpers/upstream.js';

const upstream = new TestUpstream();
const QSTASH_TOKEN = 'fuzz-qstash-token-0123456789';
let gw: GatewayProcess;
before(async () => {
  await upstream.start();
  gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(tempDir(), 'fuzz.db')}`, '--max-body', '4kb', '--qstash', '--qstash-token', QSTASH_TOKEN]).start();
});
after(async () => {
  await gw.stop();
  await upstream.close();
});

/** Header values node will put on the wire: visible ASCII and spaces (no CR/LF). */
const headerValue = fc.oneof(
  fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'), maxLength: 80 }),
  fc.constantFrom('respond-async', 'respond-async, wait=1', 'wait=0', 'wait=99999999999999999999', 'respond-async; wait="2"', '"', ',,,', 'polling', 'notify', 'response', '*', 'W/"1"'),
);

function send(method: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const url = new URL(gw.url);
    if (body) headers['content-length'] = String(Buffer.byteLength(body));
    const req = request({ host: url.hostname, port: url.port, method, path, headers });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer in 15 s: ${method} ${path} ${JSON.stringify(headers)}`)));
    req.end(body);
  });
}

test('a request that is not valid HTTP gets a 400 problem document', async () => {
  const { connect } = await import('node:net');
  const url = new URL(gw.url);
  const reply = await new Promise<string>((resolve) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n'));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve(text));
  });
  assert.match(reply, /^HTTP\/1\.1 400 /);
  assert.match(reply, /application\/problem\+json/);
  assert.match(reply, /urn:asyncgate:problem:malformed-request/);
});

test('random control headers, paths and methods never crash the gateway', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
        path: fc.oneof(
          fc.constantFrom('/ok', '/echo', '/_async/jobs/', '/_async/jobs/x/result', '/_async', '/_async/jobs/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/cancel'),
          fc.string({ unit: fc.constantFrom(...'/abc_%.?=&-~'), maxLength: 40 }).map((s) => '/' + s),
          fc.constantFrom('/_async/jobs/').chain((p) => fc.string({ unit: fc.constantFrom(...'AZaz09_-/%'), maxLength: 30 }).map((s) => p + s)),
        ),
        prefer: fc.option(headerValue),
        acceptAsync: fc.option(headerValue),
        idempotencyKey: fc.option(headerValue),
        forwarded: fc.option(headerValue),
        xfHost: fc.option(headerValue),
        ifNoneMatch: fc.option(headerValue),
        body: fc.string({ maxLength: 6000 }),
      }),
      async (c) => {
        const headers: Record<string, string> = {};
        if (c.prefer !== null) headers.prefer = c.prefer;
        if (c.acceptAsync !== null) headers['accept-asynchronous'] = c.acceptAsync;
        if (c.idempotencyKey !== null) headers['idempotency-key'] = c.idempotencyKey;
        if (c.forwarded !== null) headers.forwarded = c.forwarded;
        if (c.xfHost !== null) headers['x-forwarded-host'] = c.xfHost;
        if (c.ifNoneMatch !== null) headers['if-none-match'] = c.ifNoneMatch;
        const body = c.method === 'GET' || c.method === 'HEAD' ? '' : c.body;
        const { status, type } = await send(c.method, c.path, headers, body);
        assert.ok(status < 500, `${c.method} ${c.path} ${JSON.stringify(headers)} → ${status}`);
        if (status >= 400 && c.path.startsWith('/_async')) assert.equal(type, 'application/problem+json');
      },
    ),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 500) },
  );
  const health = await fetch(`${gw.url}/_async/health`);
  assert.equal(health.status, 200);
  assert.ok(!gw.logs.some((l) => l.msg === 'request failed'), 'no unexpected errors were logged');
});

/** Values QStash's headers take, and near misses of them. */
const upstashValue = fc.oneof(
  headerValue,
  fc.constantFrom('10s', '1h30m', '0s', '-1', '99999999999d', 'pow(2, retried) * 1000', 'max(1,', 'retried/0', 'exp(999)', 'parallelism=1, rate=10, period=1s'),
  fc.constantFrom('rate=', 'true', 'CRON_TZ=Nowhere/City * * * * *', '*/0 * * * *', '61 * * * *', 'a,b,c', '1700000000', '253402300800'),
);
const UPSTASH_HEADERS = ['method', 'delay', 'not-before', 'retries', 'retry-delay', 'timeout', 'callback', 'failure-callback', 'deduplication-id',
  'content-based-deduplication', 'flow-control-key', 'flow-control-value', 'label', 'cron', 'schedule-id', 'queue-name'];

test('random QStash calls (paths, Upstash-* headers, bodies) never crash it: each is answered, errors as problems', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        path: fc.oneof(
          fc.constantFrom('/v2/publish/http://127.0.0.1:1/x', '/v2/publish/group-1', '/v2/batch', '/v2/enqueue/q1/http://127.0.0.1:1/', '/v2/messages', '/v2/dlq',
            '/v2/dlq/retry', '/v2/queues', '/v2/queues/q1', '/v2/queues/q1/pause', '/v2/topics/t1/endpoints', '/v2/topics', '/v2/schedules/http://127.0.0.1:1/',
            '/v2/schedules', '/v2/events', '/v2/keys', '/v2/keys/rotate', '/v2/messages/%ZZ', '/v2/llm'),
          fc.string({ unit: fc.constantFrom(...'/abcqv2_%.?=&-~:'), maxLength: 50 }).map((s) => '/v2/' + s),
        ),
        query: fc.option(fc.string({ unit: fc.constantFrom(...'abcdeimnorstuI=&%-0123456789'), maxLength: 40 })),
        headers: fc.dictionary(fc.constantFrom(...UPSTASH_HEADERS, 'forward-x-a', 'forward-host'), upstashValue, { maxKeys: 6 }),
        body: fc.oneof(
          fc.string({ maxLength: 600 }),
          fc.constantFrom('[]', '[{}]', '[{"destination":"http://127.0.0.1:1/","headers":{"upstash-retries":"x"}}]', '{"queueName":"q1","parallelism":0}',
            '{"endpoints":[{"url":"http://10.0.0.1/"}]}', '{"endpoints":[{"name":1}]}', 'null', '{"queueName":"q1","parallelism":2,"paused":"yes"}'),
        ),
        token: fc.constantFrom(QSTASH_TOKEN, QSTASH_TOKEN, 'wrong-token-0000000000'),
      }),
      async (c) => {
        const headers: Record<string, string> = { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' };
        for (const [name, value] of Object.entries(c.headers)) headers[`upstash-${name}`] = value;
        const path = c.query === null ? c.path : `${c.path}?${c.query}`;
        const { status, type } = await send(c.method, path, headers, c.method === 'GET' ? '' : c.body);
        assert.ok(status < 500 || status === 501, `${c.method} ${path} ${JSON.stringify(headers)} → ${status}`);
        if (status >= 400) assert.equal(type, 'application/problem+json', `${c.method} ${path} → ${status} ${type}`);
      },
    ),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 400) },
  );
  assert.equal((await fetch(`${gw.url}/_async/health`)).status, 200);
  assert.ok(!gw.logs.some((l) => l.msg === 'QStash API request failed' || l.msg === 'request failed'), 'no unexpected errors were logged');
});
