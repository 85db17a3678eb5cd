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
let gw: GatewayProcess;
before(async () => {
  await upstream.start();
  gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(tempDir(), 'fuzz.db')}`, '--max-body', '4kb']).start();
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
