import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from './errors.js';
import { parseAcceptAsynchronous, parseAsynchronousEndpoint } from './accept-asynchronous.js';

const headerish = fc.string({ unit: fc.constantFrom(...'pollingnotify<>:/@h=;,"\\ \t'), maxLength: 40 });
const anyText = fc.oneof(fc.string({ unit: 'binary' }), headerish);
const anyField = fc.oneof(fc.constant(undefined), anyText, fc.array(anyText, { maxLength: 3 }));

function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
}

test('the Fedora proposal: the three modes', () => {
  assert.equal(parseAcceptAsynchronous('polling'), 'polling');
  assert.equal(parseAcceptAsynchronous('notify'), 'notify');
  assert.equal(parseAcceptAsynchronous('response'), 'response');
});

test("the Fedora proposal's one-line form: what follows ';' is ignored", () => {
  assert.equal(parseAcceptAsynchronous('notify; Asynchronous-end-point: http://some-webhooks-uri/'), 'notify');
  assert.equal(parseAcceptAsynchronous('response; Asynchronous-end-point: http://some-webhooks-uri/'), 'response');
});

test('case-insensitive, OWS, params, lists: the first recognised mode wins', () => {
  assert.equal(parseAcceptAsynchronous('  Polling  '), 'polling');
  assert.equal(parseAcceptAsynchronous('RESPONSE;q=1'), 'response');
  assert.equal(parseAcceptAsynchronous('carrier-pigeon, notify, polling'), 'notify');
  assert.equal(parseAcceptAsynchronous('x; note="a, polling", response'), 'response');
  assert.equal(parseAcceptAsynchronous(['', 'carrier-pigeon', ' , polling']), 'polling');
});

test('absent is undefined; empty or unknown-only is a ProtocolError naming the allowed values', () => {
  assert.equal(parseAcceptAsynchronous(undefined), undefined);
  assert.equal(parseAcceptAsynchronous([]), undefined);
  for (const bad of ['', ' , ', 'carrier-pigeon', 'pollingx', 'poll ing', '"polling"', ['smoke-signal', 'semaphore']]) {
    assert.throws(
      () => parseAcceptAsynchronous(bad),
      (err: unknown) => err instanceof ProtocolError && err.field === 'Accept-Asynchronous' && /polling, notify, response/.test(err.message),
      String(bad),
    );
  }
});

test('the Fedora proposal: Asynchronous-end-point, bare or in angle brackets', () => {
  assert.equal(parseAsynchronousEndpoint('http://some-webhooks-uri/')?.href, 'http://some-webhooks-uri/');
  assert.equal(parseAsynchronousEndpoint(' <https://client.example/cb?x=1> ')?.href, 'https://client.example/cb?x=1');
  assert.equal(parseAsynchronousEndpoint('HTTPS://Client.Example:8443/a')?.href, 'https://client.example:8443/a');
  assert.equal(parseAsynchronousEndpoint(undefined), undefined);
});

test('Asynchronous-end-point must be absolute http(s) without credentials', () => {
  for (const bad of [
    '',
    '<>',
    '<http://x/',
    '/relative/path',
    'ftp://example.com/',
    'javascript:alert(1)',
    'file:///etc/passwd',
    'http://user:pass@example.com/',
    'http://user@example.com/',
    'http://@example.com/',
    'http:\\\\u@example.com/',
    'http://exa mple.com/',
    'http://example.com/\u0000',
    'http://',
    'http://[::1/',
  ]) {
    assert.throws(() => parseAsynchronousEndpoint(bad), (err: unknown) => err instanceof ProtocolError && err.field === 'Asynchronous-end-point', bad);
  }
  // An '@' after the authority is an ordinary path or query character.
  assert.equal(parseAsynchronousEndpoint('https://example.com/u@x?to=a@b')?.host, 'example.com');
});

test('property: arbitrary input never throws anything but ProtocolError', () => {
  fc.assert(fc.property(anyField, (field) => onlyProtocolErrors(() => parseAcceptAsynchronous(field))));
  fc.assert(fc.property(fc.option(anyText, { nil: undefined }), (field) => onlyProtocolErrors(() => parseAsynchronousEndpoint(field))));
});

test('property: an accepted endpoint is http(s) and credential-free; a web URL round-trips', () => {
  fc.assert(
    fc.property(fc.option(anyText, { nil: undefined }), (field) => {
      try {
        const url = parseAsynchronousEndpoint(field);
        if (url) assert.ok(/^https?:$/.test(url.protocol) && url.username === '' && url.password === '');
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
    }),
  );
  fc.assert(
    fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.boolean(), (href, bracketed) => {
      const url = new URL(href);
      fc.pre(url.username === '' && url.password === '');
      assert.equal(parseAsynchronousEndpoint(bracketed ? `<${url.href}>` : url.href)?.href, url.href);
    }),
  );
});
