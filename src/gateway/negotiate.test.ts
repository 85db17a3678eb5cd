import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteRule } from '../config/routes.js';
import type { AsyncgateError } from '../errors/asyncgate-error.js';
import { negotiate } from './negotiate.js';

const rule = (async: RouteRule['async'], extra: Partial<RouteRule> = {}): RouteRule => ({ match: '/x', name: 'x', async, ...extra });

test('no preference under "allowed" is synchronous', () => {
  assert.deepEqual(negotiate({}, undefined, 60_000), { async: false });
  assert.deepEqual(negotiate({ prefer: 'return=minimal' }, rule('allowed'), 60_000), { async: false });
});

test('Prefer: respond-async, with wait capped by the server and the route', () => {
  assert.deepEqual(negotiate({ prefer: 'respond-async' }, undefined, 60_000), { async: true, dialect: 'prefer', waitSeconds: 0, redirectWhenDone: false });
  assert.equal((negotiate({ prefer: 'respond-async, wait=100' }, undefined, 60_000) as { waitSeconds: number }).waitSeconds, 60);
  assert.equal((negotiate({ prefer: 'respond-async, wait=100' }, rule('allowed', { maxWait: 5_000 }), 60_000) as { waitSeconds: number }).waitSeconds, 5);
  assert.equal((negotiate({ prefer: ['respond-async', 'wait=3'] }, undefined, 60_000) as { waitSeconds: number }).waitSeconds, 3);
});

test('Prefer wins over Accept-Asynchronous when both are sent (SPEC §2)', () => {
  const n = negotiate({ prefer: 'respond-async', 'accept-asynchronous': 'polling' }, undefined, 60_000);
  assert.deepEqual(n, { async: true, dialect: 'prefer', waitSeconds: 0, redirectWhenDone: false });
  const p = negotiate({ 'accept-asynchronous': 'polling' }, undefined, 60_000);
  assert.deepEqual(p, { async: true, dialect: 'polling', waitSeconds: 0, redirectWhenDone: true });
});

test('notify/response are not recognised until callback delivery exists: synchronous (seed 004 allows it)', () => {
  assert.deepEqual(negotiate({ 'accept-asynchronous': 'notify' }, undefined, 60_000), { async: false });
});

test('rules: never ignores preferences, always forces, required refuses', () => {
  assert.deepEqual(negotiate({ prefer: 'respond-async' }, rule('never'), 60_000), { async: false });
  assert.equal(negotiate({}, rule('always'), 60_000).async, true);
  assert.equal((negotiate({}, rule('always'), 60_000) as { dialect: string }).dialect, 'rule');
  assert.throws(() => negotiate({}, rule('required'), 60_000), (e: AsyncgateError) => e.type === 'async-required' && e.status === 400);
  assert.equal(negotiate({ prefer: 'respond-async' }, rule('required'), 60_000).async, true);
});

test('malformed control headers are 400s even under "never"', () => {
  assert.throws(() => negotiate({ prefer: 'respond-async, wait=x' }, rule('never'), 60_000), (e: AsyncgateError) => e.type === 'invalid-prefer');
  assert.throws(() => negotiate({ 'accept-asynchronous': 'bogus' }, undefined, 60_000), (e: AsyncgateError) => e.type === 'invalid-accept-asynchronous');
});
