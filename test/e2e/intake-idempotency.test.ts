/**
 * `Idempotency-Key` on synchronous requests (draft-ietf-httpapi-idempotency-key-header): the first request is
 * committed as a job and answered with its response on the same connection; a repeat replays it, a repeat in
 * flight is 409, another request with the same key 422. Asynchronous keyed requests are unchanged.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { json, TinyServer } from '../helpers/tiny-server.js';

/** Paths under /held/NAME wait until `release(NAME)`. */
const gates = new Map<string, { open: Promise<void>; release: () => void }>();
function gate(name: string) {
  let g = gates.get(name);
  if (!g) {
    let release = () => {};
    const open = new Promise<void>((r) => (release = r));
    g = { open, release };
    gates.set(name, g);
  }
  return g;
}
let orders = 0;
const upstream = new TinyServer((req, res) => {
  const held = /^\/held\/(\w+)/.exec(req.path);
  const answer = () => json(res, 201, { order: ++orders, body: req.body }, { 'x-upstream': 'yes' });
  if (held) return void gate(held[1]!).open.then(answer);
  answer();
});
let gw: GatewayProcess;

before(async () => {
  await upstream.start();
  gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(tempDir(), 'idem.db')}`]).start();
});
after(async () => {
  for (const g of gates.values()) g.release();
  await gw.stop();
  await upstream.close();
});

const keyed = (key: string, body: string, extra: Record<string, string> = {}) =>
  ({ method: 'POST', body, headers: { 'idempotency-key': `"${key}"`, 'content-type': 'application/json', ...extra } }) as const;

test('two identical keyed synchronous POSTs: the upstream sees one, both get its response', async () => {
  const a = await fetch(`${gw.url}/orders`, keyed('order-1', '{"cart":1}'));
  const b = await fetch(`${gw.url}/orders`, keyed('order-1', '{"cart":1}'));
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  const first = (await a.json()) as { order: number };
  assert.deepEqual(await b.json(), first);
  assert.equal(b.headers.get('x-upstream'), 'yes');
  assert.match(b.headers.get('link') ?? '', /rel="monitor"/);
  assert.equal(upstream.requests('/orders').length, 1);
});

test('a repeat while the first is still running is 409 idempotency-key-in-use with Retry-After; after it, a replay', async () => {
  const g = gate('busy');
  const first = fetch(`${gw.url}/held/busy`, keyed('order-2', '{"cart":2}'));
  await eventually(async () => upstream.requests('/held/busy').length === 1);
  // (Bounded: without the fix the repeat is simply forwarded, and waits on the same gate.)
  const repeat = await fetch(`${gw.url}/held/busy`, { ...keyed('order-2', '{"cart":2}'), signal: AbortSignal.timeout(10_000) });
  assert.equal(repeat.status, 409);
  assert.ok(Number(repeat.headers.get('retry-after')) >= 1);
  assert.equal(((await repeat.json()) as { type: string }).type, 'urn:asyncgate:problem:idempotency-key-in-use');
  g.release();
  const answer = await first;
  assert.equal(answer.status, 201);
  const body = (await answer.json()) as { order: number };
  const later = await fetch(`${gw.url}/held/busy`, keyed('order-2', '{"cart":2}'));
  assert.equal(later.status, 201);
  assert.deepEqual(await later.json(), body);
  assert.equal(upstream.requests('/held/busy').length, 1);
});

test('the same key with another body is 422 idempotency-key-reused', async () => {
  assert.equal((await fetch(`${gw.url}/orders`, keyed('order-3', '{"cart":3}'))).status, 201);
  const other = await fetch(`${gw.url}/orders`, keyed('order-3', '{"cart":4}'));
  assert.equal(other.status, 422);
  assert.equal(((await other.json()) as { type: string }).type, 'urn:asyncgate:problem:idempotency-key-reused');
  assert.equal(upstream.requests('/orders').filter((r) => r.headers['idempotency-key'] === '"order-3"').length, 1);
});

test('a client that hangs up does not stop the job; its repeat gets the response', async () => {
  const g = gate('gone');
  const req = request(`${gw.url}/held/gone`, { method: 'POST', headers: { 'idempotency-key': '"order-5"' } });
  req.on('error', () => {});
  req.end('{"cart":5}');
  await eventually(async () => upstream.requests('/held/gone').length === 1);
  req.destroy();
  g.release();
  const replay = await eventually(async () => {
    const res = await fetch(`${gw.url}/held/gone`, { method: 'POST', body: '{"cart":5}', headers: { 'idempotency-key': '"order-5"' } });
    return res.status === 409 ? undefined : res;
  });
  assert.equal(replay.status, 201);
  assert.equal(((await replay.json()) as { body: string }).body, '{"cart":5}');
  assert.equal(upstream.requests('/held/gone').length, 1);
});

test('a keyed request that asks for asynchrony still gets its 202, and a keyed synchronous repeat then replays it', async () => {
  const res = await fetch(`${gw.url}/orders`, keyed('order-6', '{"cart":6}', { prefer: 'respond-async' }));
  assert.equal(res.status, 202);
  const { id } = (await res.json()) as { id: string };
  await eventually(async () => ((await (await fetch(`${gw.url}/_async/jobs/${id}`)).json()) as { status: string }).status === 'Succeeded');
  const replay = await fetch(`${gw.url}/orders`, keyed('order-6', '{"cart":6}'));
  assert.equal(replay.status, 201);
  assert.equal(upstream.requests('/orders').filter((r) => r.headers['idempotency-key'] === '"order-6"').length, 1);
});

test('safe methods pass through with their key; a malformed key on a POST is 400', async () => {
  for (let i = 0; i < 2; i++) assert.equal((await fetch(`${gw.url}/lookup`, { headers: { 'idempotency-key': '"look"' } })).status, 201);
  assert.equal(upstream.requests('/lookup').length, 2);
  const bad = await fetch(`${gw.url}/orders`, { method: 'POST', body: '{}', headers: { 'idempotency-key': '"unterminated' } });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { type: string }).type, 'urn:asyncgate:problem:invalid-idempotency-key');
});
