import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { formatForwarded, parseForwarded, requestOrigin, type ForwardedElement } from './forwarded.js';

const headerish = fc.string({ unit: fc.constantFrom(...'forhstp=;,"\\ \t[]:.1_'), maxLength: 40 });
const anyText = fc.oneof(fc.string({ unit: 'binary' }), headerish);
const anyField = fc.oneof(fc.constant(undefined), anyText, fc.array(anyText, { maxLength: 3 }));
const quotable = fc.string({
  unit: fc.oneof(fc.constant(9), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});

test('RFC 7239 §4 examples', () => {
  assert.deepEqual(parseForwarded('for="_gazonk"'), [{ for: '_gazonk' }]);
  assert.deepEqual(parseForwarded('For="[2001:db8:cafe::17]:4711"'), [{ for: '[2001:db8:cafe::17]:4711' }]);
  assert.deepEqual(parseForwarded('for=192.0.2.60;proto=http;by=203.0.113.43'), [{ for: '192.0.2.60', proto: 'http', by: '203.0.113.43' }]);
  assert.deepEqual(parseForwarded('for=192.0.2.43, for=198.51.100.17'), [{ for: '192.0.2.43' }, { for: '198.51.100.17' }]);
});

test('RFC 7239 §7.1 and §7.4 examples: host, several proxies, unknown and obfuscated nodes', () => {
  assert.deepEqual(parseForwarded('for=192.0.2.43,for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com'), [
    { for: '192.0.2.43' },
    { for: '198.51.100.17', by: '203.0.113.60', proto: 'http', host: 'example.com' },
  ]);
  assert.deepEqual(parseForwarded('for=192.0.2.43, for="[2001:db8:cafe::17]", for=unknown'), [
    { for: '192.0.2.43' },
    { for: '[2001:db8:cafe::17]' },
    { for: 'unknown' },
  ]);
  assert.deepEqual(parseForwarded(['for=_hidden, for=_SEVKISEK', 'for="192.0.2.43:47011"']), [
    { for: '_hidden' },
    { for: '_SEVKISEK' },
    { for: '192.0.2.43:47011' },
  ]);
});

test('lenient: malformed elements are skipped, extensions dropped, OWS tolerated', () => {
  assert.deepEqual(parseForwarded('for=[2001:db8::1], for=1.2.3.4; proto=https'), [{ for: '1.2.3.4', proto: 'https' }]);
  assert.deepEqual(parseForwarded('for=a;for=b, by=c'), [{ by: 'c' }]);
  assert.deepEqual(parseForwarded('for="unterminated, for=x'), []);
  assert.deepEqual(parseForwarded('secret=1, ,, for=x;;ext="a, b"'), [{}, { for: 'x' }]);
  assert.deepEqual(parseForwarded('host'), []);
  assert.deepEqual(parseForwarded(undefined), []);
});

test('formatForwarded quotes where the grammar needs it', () => {
  assert.equal(formatForwarded({ for: '192.0.2.60', proto: 'http', by: '203.0.113.43' }), 'for=192.0.2.60;by=203.0.113.43;proto=http');
  assert.equal(formatForwarded({ for: '2001:db8:cafe::17' }), 'for="[2001:db8:cafe::17]"');
  assert.equal(formatForwarded({ for: '[2001:db8:cafe::17]:4711' }), 'for="[2001:db8:cafe::17]:4711"');
  assert.equal(formatForwarded({ for: '192.0.2.43:47011', host: 'api.example.com:8443' }), 'for="192.0.2.43:47011";host="api.example.com:8443"');
  assert.equal(formatForwarded({ by: '::1', host: 'example.com' }), 'by="[::1]";host=example.com');
  assert.equal(formatForwarded({}), '');
});

test('requestOrigin: Forwarded, then X-Forwarded-*, then Host, then the fallback', () => {
  assert.equal(requestOrigin({ forwarded: 'for=1.2.3.4;host="api.example.com:8443";proto=https', host: 'internal:3000' }, 'http', 'x'), 'https://api.example.com:8443');
  assert.equal(requestOrigin({ 'x-forwarded-host': 'api.example.com, proxy.internal', 'x-forwarded-proto': 'https,http', host: 'internal' }, 'http', 'x'), 'https://api.example.com');
  assert.equal(requestOrigin({ host: 'LocalHost:3000' }, 'http', 'x'), 'http://localhost:3000');
  assert.equal(requestOrigin({}, 'https', 'gw.example:8443'), 'https://gw.example:8443');
  assert.equal(requestOrigin({ host: '[::1]:8080' }, 'http', 'x'), 'http://[::1]:8080');
  // The URL parser's reading of a numeric host wins, so the origin matches what `new URL` later makes of it.
  assert.equal(requestOrigin({ host: '0x7f.1' }, 'http', 'x'), 'http://127.0.0.1');
});

test('requestOrigin: host and proto are settled separately', () => {
  assert.equal(requestOrigin({ forwarded: 'host=api.example.com', 'x-forwarded-proto': 'https' }, 'http', 'x'), 'https://api.example.com');
  assert.equal(requestOrigin({ forwarded: 'for=1.2.3.4;proto=https', host: 'api.example.com' }, 'http', 'x'), 'https://api.example.com');
});

test('requestOrigin: default ports are dropped like URL#origin', () => {
  assert.equal(requestOrigin({ host: 'example.com:443' }, 'https', 'x'), 'https://example.com');
  assert.equal(requestOrigin({ host: 'example.com:80' }, 'http', 'x'), 'http://example.com');
  assert.equal(requestOrigin({ host: 'example.com:80' }, 'https', 'x'), 'https://example.com:80');
});

test('requestOrigin: invalid values fall through', () => {
  const host = 'good.example';
  for (const bad of ['evil.example/path', 'user@evil.example', 'evil .example', 'evil.example:99999', 'evil.example:', '[not-ipv6]', '[::1', 'xn--a', '\u00e9vil.example', '', 'a\\b', 'a?b', 'a#b']) {
    assert.equal(requestOrigin({ 'x-forwarded-host': bad, host }, 'http', 'x'), `http://${host}`, bad);
    assert.equal(requestOrigin({ forwarded: `host=${JSON.stringify(bad)}`, host }, 'http', 'x'), `http://${host}`, bad);
  }
  assert.equal(requestOrigin({ 'x-forwarded-proto': 'javascript', forwarded: 'proto=ftp' }, 'https', 'h'), 'https://h');
  // A malformed first element makes Forwarded unusable rather than promoting an inner hop's element.
  assert.equal(requestOrigin({ forwarded: 'host=[bad], host=inner.internal', host }, 'http', 'x'), `http://${host}`);
  assert.equal(requestOrigin({ host: 'bad host' }, 'http', 'fallback:1'), 'http://fallback:1');
});

test('property: parseForwarded and requestOrigin never throw; the origin is always a parseable http(s) origin', () => {
  fc.assert(
    fc.property(anyField, anyField, anyField, anyField, (forwarded, xfh, xfp, host) => {
      parseForwarded(forwarded);
      const origin = requestOrigin(
        { forwarded: forwarded as string[], 'x-forwarded-host': xfh as string[], 'x-forwarded-proto': xfp as string[], host: host as string[] },
        'http',
        'fallback.example',
      );
      assert.equal(new URL(origin).origin, origin);
    }),
  );
});

test('property: formatForwarded → parseForwarded round-trips', () => {
  const node = fc.oneof(fc.ipV4(), fc.ipV6(), quotable);
  const element = fc.record<ForwardedElement>({ for: node, by: node, host: quotable, proto: fc.constantFrom('http', 'https') }, { requiredKeys: [] });
  fc.assert(
    fc.property(fc.array(element, { minLength: 1, maxLength: 3 }), (els) => {
      fc.pre(els.every((el) => Object.keys(el).length > 0));
      const bracket = (v: string | undefined): string | undefined => (v !== undefined && isIPv6(v) ? `[${v}]` : v);
      const expected = els.map((el) => {
        const out: ForwardedElement = { ...el };
        if (el.for !== undefined) out.for = bracket(el.for);
        if (el.by !== undefined) out.by = bracket(el.by);
        return out;
      });
      assert.deepEqual(parseForwarded(els.map(formatForwarded).join(', ')), expected);
    }),
  );
});
