/**
 * `Asyncgate-Not-Before` on the native dialects: a job accepted now that may not run before a time (delay-seconds
 * or an HTTP-date, as Retry-After), started at that time by the engine's wake timer; a malformed one is a 400.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, GatewayProcess, sleep, tempDir } from '../helpers/gateway-process.js';
import { TestUpstream } from '../helpers/upstream.js';

const upstream = new TestUpstream();
let gw: GatewayProcess;
const dir = tempDir();

before(async () => {
  await upstream.start();
  gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${dir}/nb.db`]).start();
});

after(async () => {
  await gw?.stop();
  await upstream.close();
});

test('a job with Asyncgate-Not-Before: 2 is accepted at once, NotStarted, and reaches the upstream 2 s later, without the header', async () => {
  const sent = Date.now();
  const res = await fetch(`${gw.url}/echo?nb=seconds`, { method: 'POST', headers: { prefer: 'respond-async', 'asyncgate-not-before': '2' }, body: 'later' });
  assert.equal(res.status, 202);
  const { id, status } = (await res.json()) as { id: string; status: string };
  assert.equal(status, 'NotStarted');
  await sleep(1500);
  assert.equal(upstream.seen.filter((r) => r.url === '/echo?nb=seconds').length, 0, 'not before its time');
  const ran = await eventually(async () => upstream.seen.find((r) => r.url === '/echo?nb=seconds'), 5000);
  assert.equal(ran.jobId, id);
  assert.equal(ran.headers['asyncgate-not-before'], undefined, 'a control header: never forwarded');
  const at = Date.now();
  assert.ok(at - sent >= 1990 && at - sent < 3500, `ran ${at - sent} ms after it was sent`);
});

test('an HTTP-date works the same; a date in the past runs at once', async () => {
  const when = new Date(Math.ceil((Date.now() + 2000) / 1000) * 1000);
  const res = await fetch(`${gw.url}/echo?nb=date`, { method: 'POST', headers: { prefer: 'respond-async', 'asyncgate-not-before': when.toUTCString() }, body: 'x' });
  assert.equal(res.status, 202);
  await eventually(async () => upstream.seen.some((r) => r.url === '/echo?nb=date'), 6000);
  assert.ok(Date.now() >= when.getTime() - 5);
  const past = await fetch(`${gw.url}/echo?nb=past`, { headers: { prefer: 'respond-async, wait=5', 'asyncgate-not-before': 'Sun, 06 Nov 1994 08:49:37 GMT' } });
  assert.equal(past.status, 200, 'due already: it ran within the wait');
});

test('a malformed or too distant Asyncgate-Not-Before is refused with a problem, and nothing is kept', async () => {
  for (const value of ['soon', '-5', String(366 * 86_400)]) {
    const res = await fetch(`${gw.url}/echo?nb=bad`, { headers: { prefer: 'respond-async', 'asyncgate-not-before': value } });
    assert.equal(res.status, 400, value);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.match(((await res.json()) as { detail: string }).detail, /Asyncgate-Not-Before/i);
  }
  await sleep(200);
  assert.equal(upstream.seen.filter((r) => r.url === '/echo?nb=bad').length, 0);
});
