import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from './errors.js';
import { formatPreferenceApplied, parsePrefer, preferredWait, withoutPreferences, type Preference } from './prefer.js';

const headerish = fc.string({ unit: fc.constantFrom(...'aZ9-=;,"\\ \t/:*'), maxLength: 40 });
const anyText = fc.oneof(fc.string({ unit: 'binary' }), headerish);
const anyField = fc.oneof(fc.constant(undefined), anyText, fc.array(anyText, { maxLength: 3 }));
const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,8}$/);
// Everything a quoted-string can carry: HTAB, printable ASCII, obs-text.
const quotable = fc.string({
  unit: fc.oneof(fc.constant('\t'), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) =>
    typeof c === 'string' ? c : String.fromCharCode(c),
  ),
  maxLength: 12,
});

function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
}

function summary(prefs: ReadonlyMap<string, Preference>): unknown {
  return [...prefs.values()].map((p) => [p.name, p.value, [...p.params]]);
}

test('RFC 7240 §2: several field lines read as one list', () => {
  const prefs = parsePrefer(['respond-async, wait=100', 'handling=lenient']);
  assert.deepEqual([...prefs.keys()], ['respond-async', 'wait', 'handling']);
  assert.equal(prefs.get('respond-async')?.value, undefined);
  assert.equal(prefs.get('wait')?.value, '100');
  assert.equal(prefs.get('handling')?.value, 'lenient');
  const reordered = parsePrefer('handling=lenient, wait=100, respond-async');
  assert.equal(reordered.size, 3);
  for (const name of ['respond-async', 'wait', 'handling']) assert.deepEqual(reordered.get(name), prefs.get(name));
});

test('RFC 7240 §2: an empty value is the same as no value', () => {
  const expected = [['foo', undefined, [['bar', undefined]]]];
  assert.deepEqual(summary(parsePrefer('foo; bar')), expected);
  assert.deepEqual(summary(parsePrefer('foo; bar=""')), expected);
  assert.deepEqual(summary(parsePrefer('foo=""; bar')), expected);
});

test('a comma inside a quoted parameter does not split the list', () => {
  assert.deepEqual(summary(parsePrefer('foo; bar="baz, qux"')), [['foo', undefined, [['bar', 'baz, qux']]]]);
});

test('RFC 7240 §2: the first instance of a preference wins, within and across field lines', () => {
  assert.equal(parsePrefer('wait=10, wait=20').get('wait')?.value, '10');
  assert.equal(parsePrefer(['return=minimal', 'return=representation']).get('return')?.value, 'minimal');
  assert.equal(parsePrefer('foo; a=1; A=2').get('foo')?.params.get('a'), '1');
});

test('names are case-insensitive, values keep their case', () => {
  const prefs = parsePrefer('Respond-Async, WAIT=5, Handling=Lenient; X=Y');
  assert.deepEqual([...prefs.keys()], ['respond-async', 'wait', 'handling']);
  assert.equal(prefs.get('handling')?.value, 'Lenient');
  assert.deepEqual([...(prefs.get('handling')?.params ?? [])], [['x', 'Y']]);
});

test('RFC 7240 §4 preferences, OData callback, BWS and escapes', () => {
  assert.equal(parsePrefer('return=representation').get('return')?.value, 'representation');
  assert.equal(parsePrefer('handling=strict').get('handling')?.value, 'strict');
  const cb = parsePrefer('odata.callback; url="http://myserver/notification/token/12345"').get('odata.callback');
  assert.equal(cb?.params.get('url'), 'http://myserver/notification/token/12345');
  assert.equal(parsePrefer('wait = 5 ;  x = "y"').get('wait')?.params.get('x'), 'y');
  assert.equal(parsePrefer('foo="a \\"b\\" \\\\ c"').get('foo')?.value, 'a "b" \\ c');
  assert.deepEqual([...parsePrefer(' , ,respond-async,, ').keys()], ['respond-async']);
});

test('empty and absent fields give no preferences', () => {
  assert.equal(parsePrefer(undefined).size, 0);
  assert.equal(parsePrefer('').size, 0);
  assert.equal(parsePrefer([]).size, 0);
  assert.equal(parsePrefer(' , ').size, 0);
});

test('malformed Prefer is a ProtocolError naming the field', () => {
  for (const bad of ['=foo', 'foo=', 'foo="bar', 'foo bar', 'foo;bar=', 'foo; "x"', 'fo\u0000o', 'foo=ba\u0100r']) {
    assert.throws(() => parsePrefer(bad), (err: unknown) => err instanceof ProtocolError && err.field === 'Prefer', bad);
  }
});

test('preferredWait reads delta-seconds', () => {
  assert.equal(preferredWait(parsePrefer('respond-async, wait=100')), 100);
  assert.equal(preferredWait(parsePrefer('wait="30"')), 30);
  assert.equal(preferredWait(parsePrefer('wait=007')), 7);
  assert.equal(preferredWait(parsePrefer('respond-async')), undefined);
  assert.equal(preferredWait(parsePrefer('wait=99999999999999999999')), 2 ** 31 - 1);
  assert.equal(preferredWait(parsePrefer('wait=2147483648')), 2 ** 31 - 1);
  for (const bad of ['wait=-1', 'wait=1.5', 'wait', 'wait=abc', 'wait=""', 'wait=" 5"']) {
    assert.throws(() => preferredWait(parsePrefer(bad)), ProtocolError, bad);
  }
});

test('withoutPreferences drops control preferences and keeps the rest verbatim', () => {
  const field = ['respond-async, wait=10', 'return=minimal; foo="a, b" , Handling=lenient'];
  assert.equal(withoutPreferences(field, ['respond-async', 'wait']), 'return=minimal; foo="a, b", Handling=lenient');
  assert.equal(withoutPreferences('Respond-Async; x, WAIT=5', ['respond-async', 'wait']), undefined);
  assert.equal(withoutPreferences(undefined, ['wait']), undefined);
  assert.equal(withoutPreferences('a;', []), 'a;');
});

test('formatPreferenceApplied', () => {
  assert.equal(formatPreferenceApplied([['respond-async'], ['wait', '10']]), 'respond-async, wait=10');
  assert.equal(formatPreferenceApplied([['return', 'representation']]), 'return=representation');
  assert.equal(formatPreferenceApplied([['x', 'a b'], ['y', '']]), 'x="a b", y');
  assert.equal(formatPreferenceApplied([]), '');
  assert.throws(() => formatPreferenceApplied([['bad name']]), ProtocolError);
  assert.throws(() => formatPreferenceApplied([['x', 'line\nbreak']]), ProtocolError);
});

test('property: arbitrary input never throws anything but ProtocolError', () => {
  fc.assert(
    fc.property(anyField, fc.array(anyText, { maxLength: 3 }), (field, names) => {
      onlyProtocolErrors(() => preferredWait(parsePrefer(field)));
      onlyProtocolErrors(() => withoutPreferences(field, names));
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(anyText, fc.option(anyText, { nil: undefined })), { maxLength: 3 }), (items) => {
      onlyProtocolErrors(() => formatPreferenceApplied(items.map(([n, v]) => (v === undefined ? [n] : [n, v]))));
    }),
  );
});

test('property: formatPreferenceApplied → parsePrefer round-trips', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(token, fc.option(quotable, { nil: undefined })), { maxLength: 5 }), (items) => {
      const parsed = parsePrefer(formatPreferenceApplied(items.map(([n, v]) => (v === undefined ? [n] : [n, v]))));
      const expected = new Map<string, string | undefined>();
      for (const [n, v] of items) if (!expected.has(n.toLowerCase())) expected.set(n.toLowerCase(), v === '' ? undefined : v);
      assert.deepEqual(new Map([...parsed].map(([k, p]) => [k, p.value])), expected);
    }),
  );
});

test('property: withoutPreferences removes exactly the named preferences', () => {
  const pref = fc
    .tuple(token, fc.option(quotable, { nil: undefined }), fc.array(fc.tuple(token, quotable), { maxLength: 2 }))
    .map(([n, v, ps]) => formatPreferenceApplied([v === undefined ? [n] : [n, v]]) + ps.map(([k, pv]) => `; ${formatPreferenceApplied([[k, pv]])}`).join(''));
  fc.assert(
    fc.property(fc.array(fc.array(pref, { maxLength: 3 }).map((ps) => ps.join(', ')), { minLength: 1, maxLength: 2 }), fc.array(token, { maxLength: 3 }), (lines, names) => {
      const before = parsePrefer(lines);
      const dropped = new Set(names.map((n) => n.toLowerCase()));
      const after = parsePrefer(withoutPreferences(lines, names));
      assert.deepEqual(summary(after), summary(new Map([...before].filter(([k]) => !dropped.has(k)))));
    }),
  );
});
