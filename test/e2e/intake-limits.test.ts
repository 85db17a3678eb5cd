/**
 * Limits at intake: body limits on synchronous pass-through (declared and streamed bodies), and the number of
 * callbacks one job may have (from headers, from a body field, and registered later).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { closeNow, listenLoopback } from '../helpers/loopback.js';
import { json, TinyServer } from '../helpers/tiny-server.js';

const dir = tempDir();
/** Every request the upstream began to receive, and whether its body arrived whole. */
const started: Array<{ path: string; complete: boolean }> = [];
const upstream = createServer((req, res) => {
  const entry = { path: req.url ?? '', complete: false };
  started.push(entry);
  let size = 0;
  req.on('data', (c: Buffer) => (size += c.length));
  req.on('end', () => {
    entry.complete = true;
    json(res, 200, { size });
  });
});
const upstreamSaw = (path: string) => started.filter((r) => r.path === path);
const receiver = new TinyServer((_req, res) => json(res, 200, {}));
let gw: GatewayProcess;

before(async () => {
  const upstreamUrl = await listenLoopback(upstream);
  await receiver.start();
  const config = join(dir, 'limits.json');
  writeFileSync(
    config,
    JSON.stringify({
      callbacks: { allowHosts: ['127.0.0.1'], maxPerJob: 4 },
      routes: [
        { match: 'POST /small', maxBodySize: '1kb' },
        { match: 'POST /checkout', callbackBodyField: 'callback_url' },
      ],
    }),
  );
  gw = await new GatewayProcess(['--upstream', upstreamUrl, '--db', `sqlite:${join(dir, 'limits.db')}`, '--config', config, '--max-body', '64kb']).start();
});
after(async () => {
  await gw.stop();
  await closeNow(upstream);
  await receiver.close();
});

/** A synchronous POST with a chunked body written in `pieces` of 16 KiB. */
function chunkedPost(path: string, pieces: number): Promise<{ status: number; body: string } | 'reset'> {
  return new Promise((resolve) => {
    const req = request(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' } });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', () => {
      if (!answered) resolve('reset');
    });
    let n = 0;
    const next = () => {
      if (answered || req.destroyed) return;
      if (n++ === pieces) return void req.end();
      req.write(Buffer.alloc(16 * 1024, 'x'), () => setImmediate(next));
    };
    next();
  });
}

describe('body limits on synchronous pass-through', () => {
  test('a declared body over the route\'s maxBodySize is 413 and never forwarded', async () => {
    const res = await fetch(`${gw.url}/small`, { method: 'POST', body: 'x'.repeat(5000) });
    assert.equal(res.status, 413);
    const problem = (await res.json()) as { type: string; limit: number };
    assert.equal(problem.type, 'urn:asyncgate:problem:body-too-large');
    assert.equal(problem.limit, 1024);
    assert.equal(upstreamSaw('/small').length, 0);
  });

  test('a declared body over --max-body is 413, not 502', async () => {
    const res = await fetch(`${gw.url}/anything`, { method: 'POST', body: 'x'.repeat(100 * 1024) });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { limit: number }).limit, 64 * 1024);
    assert.equal(upstreamSaw('/anything').length, 0);
  });

  test('a chunked body that passes --max-body is cut off: the upstream request is aborted and the client gets 413', async () => {
    const answer = await chunkedPost('/streamed', 8); // 128 KiB, twice the limit
    assert.notEqual(answer, 'reset');
    if (answer === 'reset') return;
    assert.equal(answer.status, 413);
    assert.equal((JSON.parse(answer.body) as { type: string }).type, 'urn:asyncgate:problem:body-too-large');
    // The upstream may have begun to receive it, but never all of it.
    assert.ok(upstreamSaw('/streamed').every((r) => !r.complete));
  });

  test('bodies within the limits still pass, declared and chunked', async () => {
    const small = await fetch(`${gw.url}/small`, { method: 'POST', body: 'x'.repeat(1024) });
    assert.equal(small.status, 200);
    assert.deepEqual(await small.json(), { size: 1024 });
    const chunked = await chunkedPost('/streamed-ok', 4); // 64 KiB: exactly the limit
    assert.notEqual(chunked, 'reset');
    if (chunked !== 'reset') assert.deepEqual([chunked.status, JSON.parse(chunked.body)], [200, { size: 64 * 1024 }]);
  });
});

describe('callbacks per job (callbacks.maxPerJob: 4)', () => {
  const callbackHeader = (n: number) => Array.from({ length: n }, (_, i) => `<${receiver.url}/cb/${i}>`).join(', ');

  test('a request naming more callbacks than allowed is 400 too-many-callbacks, and nothing is stored', async () => {
    const res = await fetch(`${gw.url}/ok`, { headers: { prefer: 'respond-async', callback: callbackHeader(5) } });
    assert.equal(res.status, 400);
    const problem = (await res.json()) as { type: string; detail: string };
    assert.equal(problem.type, 'urn:asyncgate:problem:too-many-callbacks');
    assert.match(problem.detail, /4/);
    assert.equal(upstreamSaw('/ok').length, 0);
  });

  test('a callback_url field on top of the headers counts too', async () => {
    const res = await fetch(`${gw.url}/checkout`, {
      method: 'POST',
      headers: { prefer: 'respond-async', callback: callbackHeader(4), 'content-type': 'application/json' },
      body: JSON.stringify({ callback_url: `${receiver.url}/body` }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { type: string }).type, 'urn:asyncgate:problem:too-many-callbacks');
  });

  test('registering callbacks later stops at the same bound', async () => {
    const res = await fetch(`${gw.url}/ok`, { headers: { prefer: 'respond-async', callback: callbackHeader(2) } });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const register = (i: number) =>
      fetch(`${gw.url}/_async/jobs/${id}/callbacks`, { method: 'POST', body: JSON.stringify({ url: `${receiver.url}/late/${i}`, mode: 'notify' }) });
    const statuses = await Promise.all([1, 2, 3, 4].map(async (i) => (await register(i)).status));
    assert.deepEqual(statuses.sort(), [201, 201, 400, 400]);
    const more = await register(5);
    assert.equal(more.status, 400);
    assert.equal(((await more.json()) as { type: string }).type, 'urn:asyncgate:problem:too-many-callbacks');
    await eventually(async () => receiver.requests('/cb/').length + receiver.requests('/late/').length === 4);
  });
});
