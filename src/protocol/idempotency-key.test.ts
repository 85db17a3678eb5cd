import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from './errors.js';
import { parseIdempotencyKey } from './idempotency-key.js';

const headerish = fc.string({ unit: fc.constantFrom(...'ab1-"\\; \t,'), maxLength: 30 });
const anyText = fc.oneof(fc.string({ unit: 'binary' }), headerish);
const anyField = fc.oneof(fc.constant(undefined), anyText, fc.array(anyText, { maxLength: 3 }));
const visibleKey = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 255 });

function isProtocolError(err: unknown): boolean {
  return err instanceof ProtocolError && err.field === 'Idempotency-Key';
}

test('the draft\'s example: an sf-string', () => {
  assert.equal(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"'), '8e03978e-40d5-43e8-bc93-6894a57f9324');
});

test('what clients actually send: a bare value', () => {
  assert.equal(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324'), '8e03978e-40d5-43e8-bc93-6894a57f9324');
  assert.equal(parseIdempotencyKey(' key_123/abc=+ '), 'key_123/abc=+');
  assert.equal(parseIdempotencyKey(['only-one']), 'only-one');
});

test('RFC 8941: escapes, surrounding SP, ignored parameters', () => {
  assert.equal(parseIdempotencyKey('"a\\"b\\\\c"'), 'a"b\\c');
  assert.equal(parseIdempotencyKey('  "abc"  '), 'abc');
  assert.equal(parseIdempotencyKey('"abc";v=1'), 'abc');
});

test('absent is undefined', () => {
  assert.equal(parseIdempotencyKey(undefined), undefined);
  assert.equal(parseIdempotencyKey([]), undefined);
});

test('malformed keys are ProtocolErrors', () => {
  for (const bad of ['', '   ', '""', '"a b"', '"abc', '"a\\x"', '"abc" x', 'a b', 'a, b', 'caf\u00e9', 'a\u0000', 'x'.repeat(256), `"${'x'.repeat(256)}"`, ['a', 'b']]) {
    assert.throws(() => parseIdempotencyKey(bad), isProtocolError, JSON.stringify(bad));
  }
  assert.equal(parseIdempotencyKey('x'.repeat(255)), 'x'.repeat(255));
});

test('property: arbitrary input never throws anything but ProtocolError; accepted keys are 1–255 visible ASCII', () => {
  fc.assert(
    fc.property(anyField, (field) => {
      try {
        const key = parseIdempotencyKey(field);
        if (key !== undefined) assert.match(key, /^[\x21-\x7e]{1,255}$/);
      } catch (err) {
        if (!isProtocolError(err)) throw err;
      }
    }),
  );
});

test('property: a key round-trips as an sf-string and, when it does not start with a quote, bare', () => {
  fc.assert(
    fc.property(visibleKey, (key) => {
      assert.equal(parseIdempotencyKey(`"${key.replace(/[\\"]/g, '\\$&')}"`), key);
      if (!key.startsWith('"')) assert.equal(parseIdempotencyKey(key), key);
    }),
  );
});
