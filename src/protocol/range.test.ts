import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatContentRange, parseRange } from './range.js';

test('RFC 9110 §14.1.2 examples on a 10000-byte representation', () => {
  assert.deepEqual(parseRange('bytes=0-499', 10_000), { kind: 'range', range: { start: 0, end: 499 } });
  assert.deepEqual(parseRange('bytes=500-999', 10_000), { kind: 'range', range: { start: 500, end: 999 } });
  assert.deepEqual(parseRange('bytes=-500', 10_000), { kind: 'range', range: { start: 9500, end: 9999 } });
  assert.deepEqual(parseRange('bytes=9500-', 10_000), { kind: 'range', range: { start: 9500, end: 9999 } });
});

test('a last-pos past the end is clipped; a suffix longer than the body is the whole body', () => {
  assert.deepEqual(parseRange('bytes=5-1000', 10), { kind: 'range', range: { start: 5, end: 9 } });
  assert.deepEqual(parseRange('bytes=-1000', 10), { kind: 'range', range: { start: 0, end: 9 } });
  assert.deepEqual(parseRange(' bytes = 0-0 ', 10), { kind: 'range', range: { start: 0, end: 0 } });
});

test('unsatisfiable: every range starts past the end, a zero suffix, an empty body', () => {
  assert.deepEqual(parseRange('bytes=10-20', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
});

test('ignored (whole body): no header, other units, bad syntax, reversed ranges, several ranges', () => {
  for (const h of [undefined, 'items=0-5', 'bytes', 'bytes=', 'bytes=a-b', 'bytes=-', 'bytes=5-2', 'bytes=0-1,4-5', 'bytes=1.5-2']) {
    assert.deepEqual(parseRange(h, 100), { kind: 'ignore' }, String(h));
  }
});

test('Content-Range forms (§14.4)', () => {
  assert.equal(formatContentRange({ start: 0, end: 99 }, 1234), 'bytes 0-99/1234');
  assert.equal(formatContentRange(null, 1234), 'bytes */1234');
});

test('property: any header on any size gives a decision, and a range is always inside the body', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.stringMatching(/^bytes=[0-9,\- ]{0,20}$/)), fc.nat(1_000_000), (header, size) => {
      const d = parseRange(header, size);
      if (d.kind === 'range') {
        assert.ok(d.range.start >= 0 && d.range.start <= d.range.end && d.range.end < size);
      }
    }),
    { numRuns: 2000 },
  );
});
