/** The CLI as a subprocess: help, version, and clear errors for bad flags. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, tempDir } from './helpers/gateway-process.js';

const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10_000 });

test('--help on every command', () => {
  for (const args of [['--help'], ['serve', '--help'], ['demo', '--help'], ['help', 'serve'], []]) {
    const r = run(...args);
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.stdout, /Usage: asyncgate/);
  }
  assert.match(run('serve', '--help').stdout, /--upstream URL/);
});

test('--version prints the package version', () => {
  const r = run('--version');
  assert.equal(r.status, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('bad flags and values fail with exit 2 and a readable message', () => {
  const cases: Array<[string[], RegExp]> = [
    [['serve', '--upstream', 'http://x', '--bogus'], /unknown flag '--bogus'/],
    [['serve'], /an upstream is required/],
    [['serve', '--upstream', 'ftp://x'], /must be http/],
    [['serve', '--upstream', 'not a url'], /is not a URL/],
    [['serve', '--upstream', 'http://x', '--port', 'eighty'], /--port must be a whole number/],
    [['serve', '--upstream', 'http://x', '--retention', 'forever'], /--retention "forever" is not a duration/],
    [['serve', '--upstream', 'http://x', '--db', 'mysql://x'], /is not understood/],
    [['serve', '--upstream', 'http://x', '--config', '/nonexistent.json'], /config file not found/],
    [['serve', '--upstream', 'http://x', '--admin-token', 'short'], /at least 16/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a usage error');
  }
});

test('an invalid config file names the bad field', () => {
  const dir = tempDir();
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ routes: [{ match: 'GET /x', async: 'sometimes', timeout: 'ten' }] }));
  const r = run('serve', '--upstream', 'http://127.0.0.1:1', '--config', file);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /routes\[0\]\.async/);
  assert.match(r.stderr, /routes\[0\]\.timeout: "ten" is not a duration/);
});

test('a TypeScript config file is loaded', async () => {
  const dir = tempDir();
  const file = join(dir, 'asyncgate.config.ts');
  writeFileSync(file, `const port: number = 0;\nexport default { upstream: 'http://127.0.0.1:9', port, routes: [{ match: 'POST /reports', async: 'always' }] };\n`);
  // Waits for the line rather than a fixed time: a loaded machine may take seconds to start.
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file, '--db', `sqlite:${join(dir, 'x.db')}`], {
    env: { ...process.env, ASYNCGATE_LOG_LEVEL: 'info' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (/asyncgate listening/.test(stdout)) resolve();
      });
      child.once('exit', () => reject(new Error(`exited before listening: ${stderr}`)));
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  assert.match(stdout, /asyncgate listening/, stderr);
});
