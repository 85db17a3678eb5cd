import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discoverOperation } from './discovery.js';
import { parseHttpResponseMessage } from './http-message.js';
import { readStatus, statusFamily } from './status.js';

const accepted = (headers: Record<string, string>, body = '') => {
  const res = new Response(body, { status: 202, headers });
  Object.defineProperty(res, 'url', { value: 'https://api.example/v1/things?x=1' });
  return res;
};

describe('discoverOperation', () => {
  it("asyncgate's 202: Operation-Location, links in the body, Link rel=events, Retry-After, ETag", () => {
    const body = JSON.stringify({
      id: 'j1',
      status: 'NotStarted',
      links: { self: { href: 'https://gw/_async/jobs/j1' }, cancel: { href: 'https://gw/_async/jobs/j1/cancel' } },
    });
    const op = discoverOperation(
      accepted(
        { 'operation-location': 'https://gw/_async/jobs/j1', location: 'https://gw/_async/jobs/j1', 'retry-after': '2', etag: '"1"', link: '<https://gw/_async/jobs/j1>; rel="monitor", </_async/jobs/j1/events>; rel="events"' },
        body,
      ),
      body,
      'https://gw/x',
    );
    assert.ok(op);
    assert.equal(op.monitor, 'https://gw/_async/jobs/j1');
    assert.equal(op.convention, 'status-json');
    assert.equal(op.events, 'https://api.example/_async/jobs/j1/events', 'relative links resolve against the response URL');
    assert.equal(op.cancel, 'https://gw/_async/jobs/j1/cancel');
    assert.equal(op.location, undefined, 'Location equal to the monitor is not a separate final resource');
    assert.equal(op.retryAfterMs, 2000);
    assert.equal(op.etag, '"1"');
    assert.equal(op.initial?.status, 'NotStarted');
  });

  it('Azure: Operation-Location for status, a different Location for the final resource', () => {
    const op = discoverOperation(accepted({ 'operation-location': '/operations/7', location: '/things/7' }), '', 'https://api.example/things');
    assert.equal(op?.monitor, 'https://api.example/operations/7');
    assert.equal(op?.location, 'https://api.example/things/7');
    assert.equal(op?.convention, 'status-json');
  });

  it('OData / RFC 9110: only Location, no status body → the plain convention', () => {
    const op = discoverOperation(accepted({ location: '/monitor/9' }), '', 'https://api.example/things');
    assert.equal(op?.monitor, 'https://api.example/monitor/9');
    assert.equal(op?.convention, 'plain');
  });

  it("Lyst's resource_url, Link rel=monitor; and no monitor at all", () => {
    assert.equal(discoverOperation(accepted({}, '{"resource_url":"/jobs/3"}'), '{"resource_url":"/jobs/3"}', 'https://a/')?.monitor, 'https://api.example/jobs/3');
    assert.equal(discoverOperation(accepted({ link: '</m/4>; rel="monitor"' }), '', 'https://a/')?.monitor, 'https://api.example/m/4');
    assert.equal(discoverOperation(accepted({ link: '<<garbage' }), 'not json', 'https://a/'), undefined);
  });
});

describe('readStatus', () => {
  it('reads status families, progress and links', () => {
    assert.equal(statusFamily('InProgress'), 'Running');
    assert.equal(statusFamily('cancelled'), 'Canceled');
    assert.equal(statusFamily('completed'), 'Succeeded');
    assert.equal(statusFamily('whatever'), undefined);
    const r = readStatus({ status: 'Running', progress: { current: 2, total: 8, message: 'two' }, links: { events: { href: '/e' } } });
    assert.equal(r?.percent, 25);
    assert.deepEqual(r?.progress, { current: 2, total: 8, message: 'two' });
    assert.equal(r?.links.events, '/e');
    const failed = readStatus({ status: 'Failed', response: { status: 500 }, links: { result: { href: '/r' } }, error: { code: 'upstream-http-error' } });
    assert.equal(failed?.resultUrl, '/r');
    assert.equal(failed?.hasResponse, true);
    assert.deepEqual(failed?.error, { code: 'upstream-http-error', message: '' });
    assert.equal(readStatus({ status: 42 }), undefined);
    assert.equal(readStatus([]), undefined);
  });
});

describe('parseHttpResponseMessage (OData application/http)', () => {
  it('unwraps an embedded response', async () => {
    const res = parseHttpResponseMessage(Buffer.from('HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-A: 1\r\n\r\n{"ok":true}'));
    assert.equal(res?.status, 201);
    assert.equal(res?.statusText, 'Created');
    assert.equal(res?.headers.get('x-a'), '1');
    assert.deepEqual(await res?.json(), { ok: true });
    assert.equal(parseHttpResponseMessage(Buffer.from('{"not":"http"}')), undefined);
    assert.equal(parseHttpResponseMessage(Buffer.from('HTTP/1.1 204 No Content\n\n'))?.status, 204);
  });
});
