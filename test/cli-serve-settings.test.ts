/** `serve`'s connection and shutdown settings: defaults, config keys, flags over keys, and node's server options. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveCommand } from '../src/cli/serve.js';
import { ConfigError } from '../src/config/settings.js';
import { serverOptions } from '../src/gateway/drain.js';
import { tempDir } from './helpers/gateway-process.js';

const dir = tempDir();
const config = (body: object) => {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ upstream: 'http://127.0.0.1:9', ...body }));
  return file;
};

test('defaults: 30 s shutdown grace, 60 s headers timeout, 5 s idle timeout', async () => {
  const { settings } = (await serveCommand(['--upstream', 'http://127.0.0.1:9']))!;
  assert.equal(settings.shutdownGraceMs, 30_000);
  assert.equal(settings.headersTimeoutMs, 60_000);
  assert.equal(settings.idleTimeoutMs, 5_000);
});

test('config keys shutdownGrace, headersTimeout, idleTimeout; flags win over them', async () => {
  const file = config({ shutdownGrace: '2m', headersTimeout: '20s', idleTimeout: 750 });
  const fromFile = (await serveCommand(['--config', file]))!.settings;
  assert.deepEqual([fromFile.shutdownGraceMs, fromFile.headersTimeoutMs, fromFile.idleTimeoutMs], [120_000, 20_000, 750]);
  const flags = ['--config', file, '--shutdown-grace', '0s', '--headers-timeout', '5s', '--idle-timeout', '65s'];
  const fromFlags = (await serveCommand(flags))!.settings;
  assert.deepEqual([fromFlags.shutdownGraceMs, fromFlags.headersTimeoutMs, fromFlags.idleTimeoutMs], [0, 5_000, 65_000]);
});

test('out-of-range config values name the key', async () => {
  await assert.rejects(serveCommand(['--config', config({ headersTimeout: 0 })]), (e: unknown) => e instanceof ConfigError && /headersTimeout: must be from 100ms to 1h/.test(e.message));
  await assert.rejects(serveCommand(['--config', config({ shutdownGrace: '2h' })]), (e: unknown) => e instanceof ConfigError && /shutdownGrace: must be at most 1h/.test(e.message));
});

test("node's server options: headers bounded, whole requests and silent sockets not, checked often enough", () => {
  assert.deepEqual(serverOptions({ headersTimeoutMs: 1_000, idleTimeoutMs: 2_000 }), {
    requestTimeout: 0,
    headersTimeout: 1_000,
    keepAliveTimeout: 2_000,
    connectionsCheckingInterval: 250,
  });
  assert.equal(serverOptions({ headersTimeoutMs: 3_600_000, idleTimeoutMs: 5_000 }).connectionsCheckingInterval, 30_000);
});
