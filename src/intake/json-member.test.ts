import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cut, findTopLevelMember } from './json-member.js';

const find = (text: string, name = 'cb') => findTopLevelMember(Buffer.from(text), name);

/** What removing the member should leave, by JSON.parse, or undefined when the text is not JSON. */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

test('finds the member, and the cut leaves valid JSON without it, wherever it sits', () => {
  for (const text of ['{"cb":"u"}', '{"cb":"u","a":1}', '{"a":1,"cb":"u"}', '{"a":1, "cb" : "u" ,"b":[2]}', ' { "cb":"u" , "a":{"cb":1} } ']) {
    const r = find(text);
    assert.equal(r.kind, 'found', text);
    if (r.kind !== 'found') continue;
    assert.equal(text.slice(r.valueStart, r.valueEnd), '"u"');
    const rest = cut(Buffer.from(text), r.cutStart, r.cutEnd).toString();
    const expected = JSON.parse(text) as Record<string, unknown>;
    delete expected.cb;
    assert.deepEqual(JSON.parse(rest), expected, `${text} → ${rest}`);
  }
});

test('absent: nested only, another key, other top-level values; braces and quotes inside strings do not count', () => {
  for (const text of ['{}', '{"a":{"cb":"u"}}', '[{"cb":"u"}]', '"cb"', '12', 'null', '{"a":"\\"cb\\":\\"u\\"}"}', '{"c\\u0062x":1}']) {
    assert.equal(find(text).kind, 'absent', text);
  }
});

test('an escaped key is the same key, and a second one is a duplicate', () => {
  assert.equal(find('{"c\\u0062":"u"}').kind, 'found');
  assert.equal(find('{"cb":"u","c\\u0062":"v"}').kind, 'duplicate');
  assert.equal(find('{"cb":1,"cb":2}').kind, 'duplicate');
});

test('not JSON: the verdict JSON.parse gives', () => {
  const bad = ['', '{', '{"cb":"u"', '{"cb":"u",}', '{"cb" "u"}', '{"cb":"u"} x', '[1,]', '01', '{"a":01}', '"\u0001"', '"\\x"', '{"a":tru}', '{"a":1.}', '{"a":-}', '\ufeff{}'];
  for (const text of bad) {
    assert.equal(parsed(text), undefined, `JSON.parse takes ${JSON.stringify(text)}`);
    assert.equal(find(text).kind, 'not-json', text);
  }
});

test('a million levels of nesting is scanned without recursion', () => {
  const depth = 1_000_000;
  const text = `{"a":${'['.repeat(depth)}${']'.repeat(depth)},"cb":"u"}`;
  const r = find(text);
  assert.equal(r.kind, 'found');
  assert.equal(find(`{"a":${'['.repeat(depth)}}`).kind, 'not-json');
  assert.equal(find(`${'{"x":'.repeat(depth)}1${'}'.repeat(depth)}`).kind, 'absent');
});

const jsonValue = fc.jsonValue({ maxDepth: 4 });
test('property: agrees with JSON.parse on any JSON value and on mangled text, and the cut removes exactly the member', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 4 }), jsonValue, { maxKeys: 5 }), fc.option(fc.webUrl()), fc.nat(6), fc.nat(), (obj, url, at, noise) => {
      const entries = Object.entries(obj).filter(([k]) => k !== 'cb');
      if (url !== null) entries.splice(Math.min(at, entries.length), 0, ['cb', url]);
      const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}${' '.repeat(noise % 3)}:${JSON.stringify(v, null, noise % 2 ? 1 : 0)}`).join(noise % 4 ? ', ' : ',')}}`;
      const r = find(text);
      if (url === null) return assert.equal(r.kind, 'absent');
      assert.equal(r.kind, 'found');
      if (r.kind !== 'found') return;
      assert.equal(JSON.parse(Buffer.from(text).subarray(r.valueStart, r.valueEnd).toString()), url);
      const expected = JSON.parse(text) as Record<string, unknown>;
      delete expected.cb;
      assert.deepEqual(JSON.parse(cut(Buffer.from(text), r.cutStart, r.cutEnd).toString()), expected);
    }),
  );
  fc.assert(
    fc.property(fc.json({ maxDepth: 3 }), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', '\\', 'x', ' '), (text, pos, junk) => {
      const at = text.length ? pos % text.length : 0;
      const mangled = text.slice(0, at) + junk + text.slice(at + (pos % 2));
      const verdict = find(mangled).kind;
      assert.equal(verdict === 'not-json', parsed(mangled) === undefined, mangled);
    }),
  );
});
