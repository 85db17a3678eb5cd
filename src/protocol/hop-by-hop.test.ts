import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hopByHopNames } from './hop-by-hop.js';

const headerish = fc.string({ unit: fc.constantFrom(...'aZ-,; \t"'), maxLength: 40 });
const anyText = fc.oneof(fc.string({ unit: 'binary' }), headerish);
const anyField = fc.oneof(fc.constant(undefined), anyText, fc.array(anyText, { maxLength: 3 }));
const STANDARD = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

test('RFC 9110 §7.6.1: the standard hop-by-hop fields, with or without Connection', () => {
  assert.deepEqual([...hopByHopNames(undefined)].sort(), [...STANDARD].sort());
  assert.deepEqual([...hopByHopNames('')].sort(), [...STANDARD].sort());
});

test('RFC 9110 §7.6.1: every connection-option names a field to drop', () => {
  const names = hopByHopNames(['keep-alive, X-Private-Hop', ' close ,, Foo-Bar']);
  for (const n of [...STANDARD, 'x-private-hop', 'close', 'foo-bar']) assert.ok(names.has(n), n);
  assert.equal(names.size, STANDARD.length + 3);
});

test('garbled options are ignored, not thrown', () => {
  const names = hopByHopNames('a b, "quoted", ok, caf\u00e9');
  assert.ok(names.has('ok'));
  assert.equal(names.size, STANDARD.length + 1);
});

test('property: never throws; always holds the standard names; every extra name is a lower-case token', () => {
  fc.assert(
    fc.property(anyField, (field) => {
      const names = hopByHopNames(field);
      for (const n of STANDARD) assert.ok(names.has(n));
      for (const n of names) assert.match(n, /^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
    }),
  );
});

test('property: listed tokens round-trip through a formatted Connection field', () => {
  const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,10}$/);
  fc.assert(
    fc.property(fc.array(token, { maxLength: 5 }), (options) => {
      const names = hopByHopNames(options.join(', '));
      for (const o of options) assert.ok(names.has(o.toLowerCase()));
    }),
  );
});
