import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { callbackUrl, odataCallbackUrl, parseCallbackHeader } from './callback.js';
import { ProtocolError } from './errors.js';
import { parsePrefer } from './prefer.js';

test("Response Redirection's examples", () => {
  const [a] = parseCallbackHeader('<http://server.com/callback>; method="post"; rel="redirect"')!;
  assert.equal(a!.url.href, 'http://server.com/callback');
  assert.equal(a!.method, 'POST');
  assert.equal(a!.rel, 'redirect');
  assert.equal(a!.secret, undefined);
  const [b] = parseCallbackHeader('<http://server.com/callback>; rel="respond-async"')!;
  assert.equal(b!.rel, 'respond-async');
  assert.equal(b!.method, 'POST');
});

test('several callbacks, PUT, secrets, case-insensitive values', () => {
  const list = parseCallbackHeader([
    '<https://a.example/cb>; method=PUT; secret="s3cr3t, with comma"',
    '<https://b.example/cb?x=1>; REL=Redirect, <https://c.example/cb>',
  ])!;
  assert.deepEqual(list.map((c) => [c.url.href, c.method, c.rel, c.secret]), [
    ['https://a.example/cb', 'PUT', 'redirect', 's3cr3t, with comma'],
    ['https://b.example/cb?x=1', 'POST', 'redirect', undefined],
    ['https://c.example/cb', 'POST', 'redirect', undefined],
  ]);
});

test('bad callbacks are ProtocolErrors naming the header', () => {
  for (const bad of [
    '',
    'http://no-brackets/',
    '<ftp://x/cb>',
    '<javascript:alert(1)>',
    '<https://user:pass@x/cb>',
    '</relative>',
    '<https://x/cb>; method="delete"',
    '<https://x/cb>; rel="next"',
    '<https://x/cb>; secret=""',
  ]) {
    assert.throws(() => parseCallbackHeader(bad), (e: ProtocolError) => e instanceof ProtocolError && e.field === 'Callback', bad);
  }
  assert.equal(parseCallbackHeader(undefined), undefined);
});

test('OData Prefer: callback; url="…"', () => {
  assert.equal(odataCallbackUrl(parsePrefer('respond-async, callback; url="https://o.example/ping"'))?.href, 'https://o.example/ping');
  assert.equal(odataCallbackUrl(parsePrefer('respond-async')), undefined);
  assert.throws(() => odataCallbackUrl(parsePrefer('callback')), ProtocolError);
  assert.throws(() => odataCallbackUrl(parsePrefer('callback; url="file:///etc/passwd"')), ProtocolError);
});

test('property: any header text parses or is a ProtocolError', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      try {
        parseCallbackHeader(s);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
      try {
        callbackUrl(s, 'X');
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});
