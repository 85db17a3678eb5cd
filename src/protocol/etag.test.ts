import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ifNoneMatchMatches } from './etag.js';

const headerish = fc.string({ unit: fc.constantFrom(...'W/"xy,* \t\\'), maxLength: 30 });
const anyText = fc.oneof(fc.string({ unit: 'binary' }), headerish);
const anyField = fc.oneof(fc.constant(undefined), anyText, fc.array(anyText, { maxLength: 3 }));
const opaque = fc.string({
  unit: fc.oneof(fc.constant(0x21), fc.integer({ min: 0x23, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c)),
  maxLength: 10,
});

test('RFC 9110 §13.1.2 examples', () => {
  assert.equal(ifNoneMatchMatches('"xyzzy"', '"xyzzy"'), true);
  assert.equal(ifNoneMatchMatches('W/"xyzzy"', '"xyzzy"'), true);
  assert.equal(ifNoneMatchMatches('"xyzzy", "r2d2xxxx", "c3piozzzz"', '"r2d2xxxx"'), true);
  assert.equal(ifNoneMatchMatches('W/"xyzzy", W/"r2d2xxxx", W/"c3piozzzz"', '"c3piozzzz"'), true);
  assert.equal(ifNoneMatchMatches('*', '"anything"'), true);
  assert.equal(ifNoneMatchMatches('"xyzzy"', '"other"'), false);
});

test('RFC 9110 §8.8.3.2: weak comparison ignores W/ on either side', () => {
  assert.equal(ifNoneMatchMatches('W/"1"', 'W/"1"'), true);
  assert.equal(ifNoneMatchMatches('"1"', 'W/"1"'), true);
  assert.equal(ifNoneMatchMatches('W/"1"', 'W/"2"'), false);
  assert.equal(ifNoneMatchMatches('w/"1"', '"1"'), false); // %s"W/": the prefix is case-sensitive
});

test('several field lines; commas inside an opaque-tag; a bare etag argument', () => {
  assert.equal(ifNoneMatchMatches(['"a"', ' "b" '], '"b"'), true);
  assert.equal(ifNoneMatchMatches('"a,b", "c"', '"a,b"'), true);
  assert.equal(ifNoneMatchMatches('"a,b"', '"a"'), false);
  assert.equal(ifNoneMatchMatches('"abc"', 'abc'), true);
  assert.equal(ifNoneMatchMatches(['*', ''], '"x"'), true);
});

test('malformed items are ignored, not thrown; "*" only counts as the whole value', () => {
  assert.equal(ifNoneMatchMatches('xyzzy, "r2d2"', '"r2d2"'), true);
  assert.equal(ifNoneMatchMatches('"a" junk, "b"', '"a"'), false);
  assert.equal(ifNoneMatchMatches('"a" junk, "b"', '"b"'), true);
  assert.equal(ifNoneMatchMatches('"unterminated, "x"', '"x"'), false);
  assert.equal(ifNoneMatchMatches('"a\\", "x"', '"x"'), true);
  assert.equal(ifNoneMatchMatches('"a", *', '"b"'), false);
  assert.equal(ifNoneMatchMatches(['"a"', '*'], '"b"'), false);
  assert.equal(ifNoneMatchMatches(undefined, '"x"'), false);
  assert.equal(ifNoneMatchMatches('', '"x"'), false);
  assert.equal(ifNoneMatchMatches('""', '""'), true);
});

test('property: never throws', () => {
  fc.assert(fc.property(anyField, anyText, (field, etag) => void ifNoneMatchMatches(field, etag)));
});

test('property: a formatted list matches exactly its members', () => {
  const tag = fc.tuple(fc.boolean(), opaque).map(([weak, o]) => `${weak ? 'W/' : ''}"${o}"`);
  fc.assert(
    fc.property(fc.array(tag, { maxLength: 5 }), tag, fc.boolean(), (tags, probe, weakProbe) => {
      const strip = (t: string): string => t.replace(/^W\//, '');
      const expected = tags.some((t) => strip(t) === strip(probe));
      assert.equal(ifNoneMatchMatches(tags.join(', '), weakProbe ? `W/${strip(probe)}` : probe), expected);
      for (const t of tags) assert.equal(ifNoneMatchMatches(tags.join(','), t), true);
    }),
  );
});
