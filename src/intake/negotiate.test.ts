import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteRule } from '../config/routes.js';
import { parseAllowList } from '../delivery/ssrf.js';
import type { AsyncgateError } from '../errors/asyncgate-error.js';
import { negotiate } from './negotiate.js';

const rule = (async: RouteRule['async'], extra: Partial<RouteRule> = {}): RouteRule => ({ match: '/x', name: 'x', async, ...extra });
const POLICY = { policy: parseAllowList(''), maxPerJob: 10 };
const n = (headers: Record<string, string | string[]>, r?: RouteRule, maxWait = 60_000) => negotiate(headers, r, maxWait, POLICY);
const sync = { async: false };

test('no preference under "allowed" is synchronous', () => {
  assert.deepEqual(n({}), sync);
  assert.deepEqual(n({ prefer: 'return=minimal' }, rule('allowed')), sync);
});

test('Prefer: respond-async, with wait capped by the server and the route', () => {
  assert.deepEqual(n({ prefer: 'respond-async' }), { async: true, dialect: 'prefer', waitSeconds: 0, redirectWhenDone: false, callbacks: [], applied: ['respond-async'] });
  assert.equal((n({ prefer: 'respond-async, wait=100' }) as { waitSeconds: number }).waitSeconds, 60);
  assert.equal((n({ prefer: 'respond-async, wait=100' }, rule('allowed', { maxWait: 5_000 })) as { waitSeconds: number }).waitSeconds, 5);
  assert.equal((n({ prefer: ['respond-async', 'wait=3'] }) as { waitSeconds: number }).waitSeconds, 3);
});

test('Prefer wins over Accept-Asynchronous when both are sent', () => {
  assert.equal((n({ prefer: 'respond-async', 'accept-asynchronous': 'polling' }) as { dialect: string }).dialect, 'prefer');
  const p = n({ 'accept-asynchronous': 'polling' });
  assert.deepEqual(p, { async: true, dialect: 'polling', waitSeconds: 0, redirectWhenDone: true, callbacks: [], applied: [] });
});

test('response redirection: Callback with Pragma: redirect or respond-async; alone it changes nothing', () => {
  const cb = '<https://hooks.example/cb>; method="put"; secret="k1"';
  const r = n({ pragma: 'no-cache, redirect', callback: cb }) as { dialect: string; callbacks: unknown[] };
  assert.equal(r.dialect, 'callback');
  assert.deepEqual(r.callbacks, [{ url: 'https://hooks.example/cb', method: 'PUT', mode: 'response', secret: 'k1' }]);
  assert.equal((n({ prefer: 'respond-async', callback: cb }) as { callbacks: unknown[] }).callbacks.length, 1);
  assert.deepEqual(n({ callback: cb }), sync);
});

test('Accept-Asynchronous: notify and response need an Asynchronous-end-point', () => {
  const r = n({ 'accept-asynchronous': 'notify', 'asynchronous-end-point': '<https://hooks.example/n>' }) as { dialect: string; callbacks: Array<{ mode: string }> };
  assert.equal(r.dialect, 'notify');
  assert.equal(r.callbacks[0]!.mode, 'notify');
  assert.throws(() => n({ 'accept-asynchronous': 'response' }), (e: AsyncgateError) => e.type === 'invalid-asynchronous-end-point');
});

test('OData: Prefer: respond-async, callback; url="…" pings with GET and is echoed', () => {
  const r = n({ prefer: 'respond-async, callback; url="https://o.example/ping"' }) as { callbacks: Array<{ method: string; mode: string }>; applied: string[] };
  assert.deepEqual(r.callbacks.map((c) => [c.method, c.mode]), [['GET', 'ping']]);
  assert.deepEqual(r.applied, ['respond-async', 'callback']);
});

test('SSRF: private callback URLs are refused up front, unless allowed', () => {
  for (const url of ['http://127.0.0.1/cb', 'http://[::1]/cb', 'http://169.254.169.254/latest', 'http://0x7f.1/cb', 'http://localhost/cb']) {
    assert.throws(() => n({ pragma: 'redirect', callback: `<${url}>` }), (e: AsyncgateError) => e.type === 'callback-refused', url);
  }
  const open = negotiate({ pragma: 'redirect', callback: '<http://127.0.0.1:9/cb>' }, undefined, 60_000, { policy: parseAllowList('127.0.0.1'), maxPerJob: 10 });
  assert.equal(open.async, true);
});

test('rules: never ignores preferences, always forces, required refuses', () => {
  assert.deepEqual(n({ prefer: 'respond-async' }, rule('never')), sync);
  assert.equal(n({}, rule('always')).async, true);
  assert.equal((n({}, rule('always')) as { dialect: string }).dialect, 'rule');
  assert.throws(() => n({}, rule('required')), (e: AsyncgateError) => e.type === 'async-required' && e.status === 400);
  assert.equal(n({ prefer: 'respond-async' }, rule('required')).async, true);
});

test('malformed control headers are 400s even under "never"', () => {
  assert.throws(() => n({ prefer: 'respond-async, wait=x' }, rule('never')), (e: AsyncgateError) => e.type === 'invalid-prefer');
  assert.throws(() => n({ 'accept-asynchronous': 'bogus' }), (e: AsyncgateError) => e.type === 'invalid-accept-asynchronous');
  assert.throws(() => n({ pragma: 'redirect', callback: '<ftp://x/cb>' }), (e: AsyncgateError) => e.type === 'invalid-callback');
  assert.throws(() => n({ pragma: 'redirect', callback: '<https://x.example/cb>; method=delete' }), (e: AsyncgateError) => e.type === 'invalid-callback');
  assert.throws(() => n({ pragma: 'redirect', callback: '<https://x.example/cb>; secret="whsec_!!"' }), (e: AsyncgateError) => e.type === 'invalid-callback');
});

test('more callbacks than maxPerJob is 400 too-many-callbacks, counted before any is checked', () => {
  const list = (k: number) => Array.from({ length: k }, (_, i) => `<https://hooks.example/${i}>`).join(', ');
  assert.equal(n({ prefer: 'respond-async', callback: list(10) }).async, true);
  // The 11th would be refused by the SSRF guard too: the count is what answers.
  const over = `${list(10)}, <http://127.0.0.1/x>`;
  assert.throws(() => n({ prefer: 'respond-async', callback: over }), (e: AsyncgateError) => e.code === 'too-many-callbacks');
  const withEndpoint = { prefer: 'respond-async', callback: list(10), 'accept-asynchronous': 'notify', 'asynchronous-end-point': 'https://hooks.example/n' };
  assert.throws(() => n(withEndpoint), (e: AsyncgateError) => e.code === 'too-many-callbacks');
});
