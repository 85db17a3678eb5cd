import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RouteRuleError, RouteTable } from './routes.js';
import { configFileSchema } from './schema.js';
import { ConfigError, resolveSettings } from './settings.js';
import { formatDuration, parseDuration, parseSize } from '../shared/units.js';

test('durations and sizes', () => {
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration(' 10m '), 600_000);
  assert.equal(parseDuration(42), 42);
  for (const bad of ['', 'soon', '-1s', '1w', 'h', '1 hour']) assert.equal(parseDuration(bad), undefined, bad);
  assert.equal(parseSize('10mb'), 10 * 1024 * 1024);
  assert.equal(parseSize('512KiB'), 512 * 1024);
  assert.equal(parseSize(100), 100);
  assert.equal(parseSize('lots'), undefined);
  assert.equal(formatDuration(86_400_000), '1d');
  assert.equal(formatDuration(90_000), '90s');
});

test('route table: first match wins; methods, params and wildcards', () => {
  const table = new RouteTable([
    { match: 'GET /health', async: 'never' },
    { match: 'POST,PUT /reports/:id', async: 'always' },
    { match: '/exports/*rest', async: 'required' },
    { match: '* /anything', async: 'allowed' },
  ]);
  assert.equal(table.find('GET', '/health')?.async, 'never');
  assert.equal(table.find('POST', '/health'), undefined);
  assert.equal(table.find('PUT', '/reports/7')?.async, 'always');
  assert.equal(table.find('GET', '/reports/7'), undefined);
  assert.equal(table.find('DELETE', '/exports/a/b/c')?.async, 'required');
  assert.equal(table.find('PATCH', '/anything')?.name, '* /anything');
  assert.equal(table.find('GET', '/nothing'), undefined);
});

test('route table: a bad pattern names the rule', () => {
  assert.throws(() => new RouteTable([{ match: 'GET reports', async: 'allowed' }]), RouteRuleError);
  assert.throws(() => new RouteTable([{ match: 'GET /a/:', async: 'allowed' }]), /routes\[0\]/);
});

test('config file schema: unknown keys and bad values are refused', () => {
  assert.equal(configFileSchema.safeParse({ routes: [{ match: '/x', async: 'always', timeout: '2m' }] }).success, true);
  assert.equal(configFileSchema.safeParse({ rotues: [] }).success, false);
  assert.equal(configFileSchema.safeParse({ routes: [{ match: '/x', async: 'sometimes' }] }).success, false);
  const parsed = configFileSchema.parse({ retention: '1h', routes: [{ match: '/x', maxBodySize: '1kb' }] });
  assert.equal(parsed.retention, 3_600_000);
  assert.equal(parsed.routes[0]?.maxBodySize, 1024);
  assert.equal(parsed.routes[0]?.async, 'allowed');
});

test('settings: flags win over the file, the file over defaults', () => {
  const s = resolveSettings({ upstream: 'http://a:1', port: 9000, retention: 1000 }, { port: 9100 });
  assert.equal(s.port, 9100);
  assert.equal(s.retentionMs, 1000);
  assert.equal(s.upstream.href, 'http://a:1/');
  assert.equal(s.prefix, '/_async');
  assert.throws(() => resolveSettings({}, {}), ConfigError);
});

test('events heartbeat: 15 s by default; file and flag; bounded', () => {
  assert.equal(resolveSettings({ upstream: 'http://a:1' }, {}).eventsHeartbeatMs, 15_000);
  assert.equal(resolveSettings({ upstream: 'http://a:1', eventsHeartbeat: 5000 }, {}).eventsHeartbeatMs, 5000);
  assert.equal(resolveSettings({ upstream: 'http://a:1', eventsHeartbeat: 5000 }, { eventsHeartbeatMs: 250 }).eventsHeartbeatMs, 250);
  assert.equal(configFileSchema.parse({ eventsHeartbeat: '2s' }).eventsHeartbeat, 2000);
  for (const bad of ['10ms', '2h', 'often']) assert.equal(configFileSchema.safeParse({ eventsHeartbeat: bad }).success, false, bad);
});
