import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from './errors.js';
import { formatRetryAfter, parseRetryAfter } from './retry-after.js';

const NOW = Date.UTC(1994, 10, 6, 8, 49, 0); // 37 s before RFC 9110's example date

test('RFC 9110 §10.2.3 examples', () => {
  assert.equal(parseRetryAfter('120', NOW), 120_000);
  assert.equal(parseRetryAfter('Fri, 31 Dec 1999 23:59:59 GMT', Date.UTC(1999, 11, 31, 23, 59, 0)), 59_000);
});

test('RFC 9110 §5.6.7: the three HTTP-date forms mean the same instant', () => {
  assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), 37_000);
  assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', NOW), 37_000);
  assert.equal(parseRetryAfter('Sun Nov  6 08:49:37 1994', NOW), 37_000);
  assert.equal(parseRetryAfter('Sun Nov 16 08:49:37 1994', NOW), 37_000 + 10 * 86_400_000);
});

test('RFC 9110 §5.6.7: a two-digit year over 50 years ahead is in the past century', () => {
  const now = Date.UTC(2025, 0, 1);
  assert.equal(parseRetryAfter('Thursday, 01-Jan-26 00:00:10 GMT', now), 365 * 86_400_000 + 10_000);
  assert.equal(parseRetryAfter('Monday, 01-Jan-80 00:00:00 GMT', now), 0); // 1980, long past
});

test('past dates are 0, OWS is trimmed, huge delays are capped', () => {
  assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW + 3_600_000), 0);
  assert.equal(parseRetryAfter('  5 ', NOW), 5000);
  assert.equal(parseRetryAfter('0', NOW), 0);
  assert.equal(parseRetryAfter('99999999999999999999', NOW), (2 ** 31 - 1) * 1000);
});

test('absent or malformed is undefined', () => {
  for (const bad of [undefined, '', '-1', '1.5', '1e3', 'soon', 'Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 24:00:00 GMT', 'sun, 06 nov 1994 08:49:37 gmt', 'Sun, 06 Nov 1994 08:49:37 UTC', '2024-01-01T00:00:00Z', 'Sun, 6 Nov 1994 08:49:37 GMT']) {
    assert.equal(parseRetryAfter(bad, NOW), undefined, String(bad));
  }
});

test('formatRetryAfter rounds up, 1 at least unless 0', () => {
  assert.equal(formatRetryAfter(0), '0');
  assert.equal(formatRetryAfter(1), '1');
  assert.equal(formatRetryAfter(1000), '1');
  assert.equal(formatRetryAfter(1001), '2');
  assert.equal(formatRetryAfter(-5), '0');
  assert.equal(formatRetryAfter(Infinity), String(2 ** 31 - 1));
  assert.throws(() => formatRetryAfter(NaN), ProtocolError);
});

test('property: parseRetryAfter never throws and is never negative', () => {
  const headerish = fc.string({ unit: fc.constantFrom(...'SunMoNv0123456789 ,-:GMT'), maxLength: 32 });
  fc.assert(
    fc.property(fc.option(fc.oneof(fc.string({ unit: 'binary' }), headerish), { nil: undefined }), fc.integer({ min: -8.64e15, max: 8.64e15 }), (field, now) => {
      const ms = parseRetryAfter(field, now);
      assert.ok(ms === undefined || (Number.isFinite(ms) && ms >= 0));
    }),
  );
});

test('property: formatRetryAfter → parseRetryAfter round-trips to the next whole second', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e12, noNaN: true }), (ms) => {
      const back = parseRetryAfter(formatRetryAfter(ms), NOW);
      assert.ok(back !== undefined && back >= ms && back <= ms + 1000);
      if (ms > 0) assert.ok(back >= 1000);
    }),
  );
});

test('property: an IMF-fixdate from Date#toUTCString round-trips', () => {
  fc.assert(
    fc.property(fc.date({ min: new Date(Date.UTC(1000, 0, 1)), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }), (date) => {
      const whole = Math.floor(date.getTime() / 1000) * 1000;
      assert.equal(parseRetryAfter(new Date(whole).toUTCString(), whole - 5000), 5000);
    }),
  );
});
