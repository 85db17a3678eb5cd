/**
 * Reading other servers' asynchronous operations (operation-status.ts, operation-discovery.ts), shared by the
 * client and the gateway's `upstreamAsync: follow`: the conventions' examples, and properties over any input
 * (never a throw, percent always within 0–100, links resolved against the base).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { discoverOperation, parseJson } from './operation-discovery.js';
import { isTerminal, readStatus, statusFamily } from './operation-status.js';

const BASE = 'https://api.example.com/v1/exports';

test('status names of the common conventions map to the five families', () => {
  const cases: Array<[string, string | undefined]> = [
    ['NotStarted', 'NotStarted'], ['queued', 'NotStarted'], ['Running', 'Running'], ['in-progress', 'Running'],
    ['InProgress', 'Running'], ['Succeeded', 'Succeeded'], ['completed', 'Succeeded'], ['Failed', 'Failed'],
    ['Cancelled', 'Canceled'], ['canceled', 'Canceled'], ['sleeping', undefined], ['', undefined],
  ];
  for (const [name, family] of cases) assert.equal(statusFamily(name), family, name);
  assert.equal(statusFamily(42), undefined);
  assert.ok(isTerminal('Failed') && !isTerminal('Running'));
});

test('Azure: percentComplete, resourceLocation and the error are read', () => {
  const r = readStatus({ id: 'op1', status: 'Running', percentComplete: 40 });
  assert.deepEqual([r?.status, r?.percent], ['Running', 40]);
  const done = readStatus({ status: 'Succeeded', resourceLocation: 'https://api.example.com/v1/exports/7' });
  assert.equal(done?.resultUrl, 'https://api.example.com/v1/exports/7');
  const failed = readStatus({ status: 'Failed', error: { code: 'QuotaExceeded', message: 'too many exports' } });
  assert.deepEqual(failed?.error, { code: 'QuotaExceeded', message: 'too many exports' });
});

test('progress as current/total gives a percent; out-of-range percents are clamped', () => {
  assert.equal(readStatus({ status: 'running', progress: { current: 1, total: 4 } })?.percent, 25);
  assert.equal(readStatus({ status: 'running', percentComplete: 250 })?.percent, 100);
  assert.equal(readStatus({ status: 'running', percentComplete: -5 })?.percent, 0);
  assert.equal(readStatus({ status: 'running', progress: { current: 3, total: 0 } })?.percent, undefined);
});

test('a body without a known status is not a status representation', () => {
  for (const body of [null, [], 'Running', { state: 'Running' }, { status: 'sleeping' }]) assert.equal(readStatus(body), undefined);
});

test('discovery: Operation-Location beats Location, which stays the final resource; relative links resolve', () => {
  const headers = new Headers({ 'operation-location': '/v1/operations/9', location: '/v1/exports/7', 'retry-after': '3' });
  const op = discoverOperation(headers, '', BASE);
  assert.equal(op?.monitor, 'https://api.example.com/v1/operations/9');
  assert.equal(op?.location, 'https://api.example.com/v1/exports/7');
  assert.equal(op?.retryAfterMs, 3_000);
  assert.equal(op?.convention, 'status-json');
});

test('discovery: a plain Location 202 is followed as a plain monitor; no monitor at all is undefined', () => {
  const op = discoverOperation(new Headers({ location: 'https://api.example.com/queue/5' }), 'accepted', BASE);
  assert.deepEqual([op?.monitor, op?.convention, op?.location], ['https://api.example.com/queue/5', 'plain', undefined]);
  assert.equal(discoverOperation(new Headers(), '{"ok":true}', BASE), undefined);
});

test('discovery: a status body with links names the monitor, events and cancel', () => {
  const body = JSON.stringify({ status: 'Running', links: { self: { href: '/v1/jobs/3' }, events: { href: '/v1/jobs/3/events' }, cancel: '/v1/jobs/3/cancel' } });
  const op = discoverOperation(new Headers(), body, BASE);
  assert.deepEqual([op?.monitor, op?.events, op?.cancel], ['https://api.example.com/v1/jobs/3', 'https://api.example.com/v1/jobs/3/events', 'https://api.example.com/v1/jobs/3/cancel']);
  assert.equal(op?.initial?.status, 'Running');
});

test('property: any JSON value is read without a throw, and a percent is always within 0–100', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.oneof(fc.constant('Running'), fc.constant('Succeeded'), fc.string()), fc.double(), (value, status, percent) => {
      readStatus(value);
      const r = readStatus({ status, percentComplete: percent, progress: value });
      if (r?.percent !== undefined) assert.ok(r.percent >= 0 && r.percent <= 100);
    }),
  );
});

test('property: discovery never throws on any headers and body, and every URL it gives is absolute', () => {
  const field = fc.string({ maxLength: 60 }).filter((s) => !/[\r\n\0]/.test(s) && s.trim() === s);
  fc.assert(
    fc.property(fc.option(field), fc.option(field), fc.option(field), fc.string({ maxLength: 200 }), (opLoc, location, link, body) => {
      const headers = new Headers();
      try {
        if (opLoc !== null) headers.set('operation-location', opLoc);
        if (location !== null) headers.set('location', location);
        if (link !== null) headers.set('link', link);
      } catch {
        return; // a value Headers itself refuses
      }
      const op = discoverOperation(headers, body, BASE);
      for (const url of [op?.monitor, op?.events, op?.cancel, op?.location]) if (url !== undefined) assert.ok(new URL(url).href === url);
      parseJson(body);
    }),
  );
});
