import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from './errors.js';
import { isToken, nextComma, quote, readQuoted, skipOWS, tokenEnd, word } from './syntax.js';

const quotable = fc.string({
  unit: fc.oneof(fc.constant(9), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c)),
  maxLength: 20,
});

test('RFC 9110 §5.6.2 tokens', () => {
  assert.equal(isToken("!#$%&'*+-.^_`|~09azAZ"), true);
  for (const s of ['', 'a b', 'a,b', 'a"b', 'a;b', 'a=b', '(a)', 'caf\u00e9', 'a\u0000']) assert.equal(isToken(s), false, s);
  assert.equal(tokenEnd('abc=1', 0), 3);
  assert.equal(skipOWS(' \t x', 0), 3);
});

test('RFC 9110 §5.6.4 quoted-string', () => {
  assert.deepEqual(readQuoted('"a\\"b" rest', 0), ['a"b', 6]);
  assert.deepEqual(readQuoted('x"caf\u00e9"', 1), ['caf\u00e9', 7]);
  assert.equal(readQuoted('"open', 0), undefined);
  assert.equal(readQuoted('"a\nb"', 0), undefined);
  assert.equal(readQuoted('"a\\', 0), undefined);
  assert.equal(quote('say "hi" \\o/', 'X'), '"say \\"hi\\" \\\\o/"');
  assert.equal(word('plain', 'X'), 'plain');
  assert.equal(word('', 'X'), '""');
  assert.throws(() => quote('a\r\nInjected: yes', 'X'), (err: unknown) => err instanceof ProtocolError && err.field === 'X');
  assert.throws(() => quote('\u20ac', 'X'), ProtocolError);
});

test('nextComma steps over quoted-strings', () => {
  assert.equal(nextComma('a="x,\\"y", b', 0), 9);
  assert.equal(nextComma('no comma', 0), 8);
});

test('property: quote → readQuoted round-trips; word is a token or a quoted-string', () => {
  fc.assert(
    fc.property(quotable, fc.string({ maxLength: 5 }), (value, tail) => {
      const q = quote(value, 'X');
      assert.deepEqual(readQuoted(q + tail, 0), [value, q.length]);
      assert.equal(nextComma(q + ',', 0), q.length);
      const w = word(value, 'X');
      assert.ok(w === value ? isToken(value) : w === q);
    }),
  );
});

test('property: readQuoted and quote never throw anything but ProtocolError', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const r = readQuoted(`"${s}`, 0);
      if (r) assert.ok(r[1] <= s.length + 1);
      try {
        quote(s, 'X');
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
    }),
  );
});
