import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from './errors.js';
import { formatLink, parseLinkHeader, type LinkValue } from './link.js';

const headerish = fc.string({ unit: fc.constantFrom(...'<>ax=;,"\\ \t/:*\''), maxLength: 40 });
const anyText = fc.oneof(fc.string({ unit: 'binary' }), headerish);
const anyField = fc.oneof(fc.constant(undefined), anyText, fc.array(anyText, { maxLength: 3 }));
const paramName = fc.stringMatching(/^[!#$%&'+\-.^_`|~0-9a-z]{1,8}$/);
const quotable = fc.string({
  unit: fc.oneof(fc.constant(9), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});

function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
}

function plain(links: LinkValue[]): unknown {
  return links.map((l) => [l.target, Object.fromEntries(l.params)]);
}

test('RFC 8288 §3.5 examples', () => {
  assert.deepEqual(plain(parseLinkHeader('<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter"')), [
    ['http://example.com/TheBook/chapter2', { rel: 'previous', title: 'previous chapter' }],
  ]);
  assert.deepEqual(plain(parseLinkHeader('</>; rel="http://example.net/foo"')), [['/', { rel: 'http://example.net/foo' }]]);
  assert.deepEqual(plain(parseLinkHeader('</terms>; rel="copyright"; anchor="#foo"')), [['/terms', { rel: 'copyright', anchor: '#foo' }]]);
  assert.deepEqual(
    plain(
      parseLinkHeader(
        "</TheBook/chapter2>; rel=\"previous\"; title*=UTF-8'de'letztes%20Kapitel, </TheBook/chapter4>; rel=\"next\"; title*=UTF-8'de'n%c3%a4chstes%20Kapitel",
      ),
    ),
    [
      ['/TheBook/chapter2', { rel: 'previous', 'title*': 'letztes Kapitel' }],
      ['/TheBook/chapter4', { rel: 'next', 'title*': 'nächstes Kapitel' }],
    ],
  );
  assert.deepEqual(plain(parseLinkHeader('<http://example.org/>; rel="start http://example.net/relation/other"')), [
    ['http://example.org/', { rel: 'start http://example.net/relation/other' }],
  ]);
  assert.deepEqual(plain(parseLinkHeader('<https://example.org/>; rel="start", <https://example.org/index>; rel="index"')), [
    ['https://example.org/', { rel: 'start' }],
    ['https://example.org/index', { rel: 'index' }],
  ]);
});

test("response redirection's Callback header, with the field name in errors", () => {
  assert.deepEqual(plain(parseLinkHeader('<http://server.com/callback>; method="post"; rel="redirect"', 'Callback')), [
    ['http://server.com/callback', { method: 'post', rel: 'redirect' }],
  ]);
  assert.throws(() => parseLinkHeader('http://server.com/callback', 'Callback'), (err: unknown) => err instanceof ProtocolError && err.field === 'Callback');
  assert.throws(() => parseLinkHeader('http://server.com/callback'), (err: unknown) => err instanceof ProtocolError && err.field === 'Link');
});

test('commas inside <> or quotes do not split; several field lines concatenate', () => {
  assert.deepEqual(plain(parseLinkHeader(['<http://x/a,b>; title="a, b"', ' , <y>;rel=next ,'])), [
    ['http://x/a,b', { title: 'a, b' }],
    ['y', { rel: 'next' }],
  ]);
});

test('names lower-cased, first instance wins, BWS, bare and empty params, escapes, ISO-8859-1', () => {
  assert.deepEqual(plain(parseLinkHeader('<x>; REL = a; rel=b; Title="say \\"hi\\""; hreflang; ;')), [['x', { rel: 'a', title: 'say "hi"', hreflang: '' }]]);
  assert.deepEqual(plain(parseLinkHeader("<x>; title*=iso-8859-1'en'%A3%20rates")), [['x', { 'title*': '£ rates' }]]);
  // Undecodable ext-values are kept as sent (RFC 8288 Appendix B.3).
  assert.deepEqual(plain(parseLinkHeader("<x>; title*=UTF-8''%ff, <y>; title*=koi8-r''x")), [
    ['x', { 'title*': "UTF-8''%ff" }],
    ['y', { 'title*': "koi8-r''x" }],
  ]);
  assert.deepEqual(parseLinkHeader(undefined), []);
  assert.deepEqual(parseLinkHeader(''), []);
  assert.deepEqual(plain(parseLinkHeader('<>')), [['', {}]]);
});

test('malformed Link is a ProtocolError', () => {
  for (const bad of ['http://x', '<http://x', '<x> rel=a', '<x>; =a', '<x>; rel=', '<x>; rel="a', '<x y>', '<x>; rel=a b', '<x\u0001>', 'rel=a']) {
    assert.throws(() => parseLinkHeader(bad), ProtocolError, bad);
  }
});

test('formatLink', () => {
  assert.equal(formatLink('https://x/y', { rel: 'monitor' }), '<https://x/y>; rel="monitor"');
  assert.equal(formatLink('/jobs/1', {}), '</jobs/1>');
  assert.equal(formatLink('/a', { rel: 'x', title: 'say "hi"' }), '</a>; rel="x"; title="say \\"hi\\""');
  assert.equal(formatLink('/a', { 'title*': "nächstes (2)'s" }), "</a>; title*=UTF-8''n%C3%A4chstes%20%282%29%27s");
  for (const [target, params] of [
    ['a>b', {}],
    ['a b', {}],
    ['/a', { 'bad name': 'x' }],
    ['/a', { rel: 'line\nbreak' }],
    ['/a', { 'title*': '\ud800' }],
  ] as const) {
    assert.throws(() => formatLink(target, params), ProtocolError, target);
  }
});

test('property: arbitrary input never throws anything but ProtocolError', () => {
  fc.assert(fc.property(anyField, anyText, (field, name) => onlyProtocolErrors(() => parseLinkHeader(field, name))));
  fc.assert(fc.property(anyText, fc.dictionary(anyText, anyText, { maxKeys: 3 }), (target, params) => onlyProtocolErrors(() => formatLink(target, params))));
});

test('property: formatLink → parseLinkHeader round-trips', () => {
  const params = fc.oneof(
    fc.dictionary(paramName, quotable, { maxKeys: 4 }),
    fc.dictionary(paramName.map((n) => `${n}*`), fc.string({ unit: 'grapheme', maxLength: 8 }), { maxKeys: 2 }),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.webUrl({ withQueryParameters: true, withFragments: true }), params), { minLength: 1, maxLength: 3 }), (links) => {
      const field = links.map(([target, p]) => formatLink(target, p)).join(', ');
      assert.deepEqual(plain(parseLinkHeader(field)), links.map(([target, p]) => [target, Object.fromEntries(Object.entries(p))]));
    }),
  );
});
