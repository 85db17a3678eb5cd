/** `asyncgate migrate` as a subprocess, on both backends, and its errors. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI, tempDir } from './helpers/gateway-process.js';
import { dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from './helpers/postgres.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
const available = await postgresAvailable();
const schemas: string[] = [];
after(() => dropSchemas(schemas));

test('sqlite: applies every migration once, then says it is up to date', () => {
  const db = `sqlite:${join(tempDir(), 'migrate.db')}`;
  const first = run('migrate', '--db', db);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /applied migrations 1\.\.\d+/);
  const again = run('migrate', '--db', db);
  assert.match(again.stdout, /schema is up to date \(migration \d+\)/);
});

test('postgres: applies every migration once into its schema, then says it is up to date', { skip: !available && 'PostgreSQL not reachable' }, () => {
  const schema = uniqueSchema('cli_migrate');
  schemas.push(schema);
  const first = run('migrate', '--db', schemaUrl(schema));
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`127\\.0\\.0\\.1:5432/test \\(schema ${schema}\\): applied migrations 1\\.\\.\\d+`));
  assert.match(run('migrate', '--db', schemaUrl(schema)).stdout, /schema is up to date/);
});

test('unreachable PostgreSQL: a clear reason and exit 1, after waiting the whole --wait, which it reports', async () => {
  const port = await TcpProxy.freePort();
  const started = Date.now();
  const r = run('migrate', '--db', `postgres://postgres:secret@127.0.0.1:${port}/test`, '--wait', '3s');
  const took = Date.now() - started;
  assert.equal(r.status, 1);
  const m = new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port}/test refused the connection \\(is it running\\?\\); gave up after (\\d+\\.\\d) s \\(--wait limit 3\\.0 s\\)`).exec(r.stderr);
  assert.ok(m, r.stderr);
  const reported = Number(m[1]) * 1000;
  assert.ok(reported >= 3_000, `it waited the whole limit (reported ${m[1]} s)`);
  assert.ok(reported <= took, `the reported time is the real one (${m[1]} s, the process ran ${took} ms)`);
  assert.doesNotMatch(r.stderr + r.stdout, /secret/, 'the password is never printed');
});

test('bad --db values exit 2 with what is accepted', () => {
  const r = run('migrate', '--db', 'mysql://x');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /use sqlite:PATH .* or postgres:\/\//);
  const bad = run('migrate', '--db', 'postgres://127.0.0.1/test?schema=Bad-Name');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /schema "Bad-Name" must be a lower-case SQL identifier/);
});
