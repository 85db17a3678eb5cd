import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from './errors.js';
import { formatProgress, parseProgress } from './progress.js';

test('draft-wright-http-progress examples', () => {
  assert.deepEqual(parseProgress('0/1'), { current: 0, total: 1 });
  assert.deepEqual(parseProgress("66/ (tries) utf-8'en'Generating%20prime%20number"), { current: 66, message: 'Generating prime number' });
  assert.deepEqual(parseProgress("5/16 UTF-8'ja-JP'%e9%a3%9f%e3%81%b9%e3%81%a6"), { current: 5, total: 16, message: '食べて' });
  assert.deepEqual(parseProgress('3/20 "POST http://example.com/item/3" 8020/8591489 (bytes)'), {
    current: 3,
    total: 20,
    message: 'POST http://example.com/item/3',
  });
  assert.deepEqual(parseProgress('0/3 "Herding cats"'), { current: 0, total: 3, message: 'Herding cats' });
  // A fraction and a quoted message, the form docs/dialects.md shows.
  assert.deepEqual(parseProgress('2/75 "message"'), { current: 2, total: 75, message: 'message' });
});

test('remarks after a second fraction describe the sub-operation, not the job', () => {
  assert.deepEqual(parseProgress('1/4 2/10 "copying a.txt"'), { current: 1, total: 4 });
  assert.deepEqual(parseProgress('1/4 "step two" 2/10 "copying a.txt"'), { current: 1, total: 4, message: 'step two' });
  // The first user-facing remark wins; comments are for machines.
  assert.deepEqual(parseProgress('1/4 (internal) "shown" "not shown"'), { current: 1, total: 4, message: 'shown' });
});

test('quoted-pair, nested comments, ISO-8859-1 ext-value, OWS around the value', () => {
  assert.deepEqual(parseProgress('7/9 "say \\"hi\\""'), { current: 7, total: 9, message: 'say "hi"' });
  assert.deepEqual(parseProgress('7/9 (a (nested) comment \\) here) "ok"'), { current: 7, total: 9, message: 'ok' });
  assert.deepEqual(parseProgress("1/2 iso-8859-1'fr'%e9t%e9"), { current: 1, total: 2, message: 'été' });
  assert.deepEqual(parseProgress('  1/2\t"x"  '), { current: 1, total: 2, message: 'x' });
  // An ext-value in a charset we cannot decode is well-formed, just not shown.
  assert.deepEqual(parseProgress("1/2 koi8-r''%c1"), { current: 1, total: 2 });
  // Several field lines: the last one is the latest news.
  assert.deepEqual(parseProgress(['1/3', '2/3 "later"']), { current: 2, total: 3, message: 'later' });
});

test('absent or malformed is undefined', () => {
  for (const bad of [
    undefined,
    '',
    '/3',
    '3',
    '-1/3',
    '1.5/3',
    '4/3', // the denominator MUST NOT be smaller than the numerator
    '1/3"x"', // remarks are separated by whitespace
    '1/3 "unterminated',
    '1/3 (unbalanced',
    '1/3 bare-word',
    "1/3 UTF-8''%zz",
    "1/3 UTF-8''%c3%28", // not UTF-8
    '1/3 x/4',
    '99999999999999999999/1',
    '1/99999999999999999999',
    '1/3 ((((((((((deep))))))))))',
  ]) {
    const got = parseProgress(bad);
    // An undecodable UTF-8 ext-value only loses its message.
    if (bad === "1/3 UTF-8''%c3%28") assert.deepEqual(got, { current: 1, total: 3 }, bad);
    else assert.equal(got, undefined, String(bad));
  }
});

test('formatProgress: quoted-string for ASCII, ext-value otherwise; refuses impossible values', () => {
  assert.equal(formatProgress({ current: 2, total: 75, message: 'working "hard"' }), '2/75 "working \\"hard\\""');
  assert.equal(formatProgress({ current: 3 }), '3/');
  assert.equal(formatProgress({ current: 1, total: 2, message: 'été (1)' }), "1/2 UTF-8''%C3%A9t%C3%A9%20%281%29");
  assert.throws(() => formatProgress({ current: 3, total: 2 }), ProtocolError);
  assert.throws(() => formatProgress({ current: -1 }), ProtocolError);
  assert.throws(() => formatProgress({ current: 1, message: '\ud800' }), ProtocolError);
});

test('property: parseProgress never throws, and what it returns is consistent', () => {
  const headerish = fc.string({ unit: fc.constantFrom(...'0123456789/ "()\\\'%aUTF-8é\t'), maxLength: 40 });
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary' }), headerish), (field) => {
      const p = parseProgress(field);
      if (p === undefined) return;
      assert.ok(Number.isSafeInteger(p.current) && p.current >= 0);
      if (p.total !== undefined) assert.ok(Number.isSafeInteger(p.total) && p.total >= p.current);
    }),
  );
});

test('property: formatProgress → parseProgress round-trips', () => {
  const progress = fc
    .record({ current: fc.nat(), extra: fc.option(fc.nat(), { nil: undefined }), message: fc.option(fc.string({ unit: 'grapheme', maxLength: 30 }), { nil: undefined }) })
    .map(({ current, extra, message }) => ({
      current,
      ...(extra !== undefined ? { total: current + extra } : {}),
      ...(message !== undefined ? { message } : {}),
    }));
  fc.assert(
    fc.property(progress, (p) => {
      assert.deepEqual(parseProgress(formatProgress(p)), p);
    }),
  );
});
