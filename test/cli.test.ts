/** The CLI as a subprocess: help, version, and clear errors for bad flags. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, eventually, killOnExit, tempDir } from './helpers/gateway-process.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10_000 });

test('--help on every command', () => {
  for (const args of [['--help'], ['help'], ['serve', '--help'], ['demo', '--help'], ['help', 'serve']]) {
    const r = run(...args);
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.stdout, /Usage: asyncgate/);
  }
  assert.match(run('serve', '--help').stdout, /--upstream URL/);
});

test('no command, or help for an unknown one, is a usage error: exit 2, usage on stderr', () => {
  const none = run();
  assert.equal(none.status, 2);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /a command is required/);
  assert.match(none.stderr, /Usage: asyncgate <command>/);
  const unknown = run('help', 'nonsense');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'nonsense'/);
  assert.doesNotMatch(unknown.stderr, /\n\s+at /);
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
    [['serve', '--upstream', 'http://x', '--log-level', 'loud'], /--log-level "loud" is not a log level \(fatal, error, warn, info, debug, trace, silent\)/],
    [['demo', '--log-level', 'loud'], /--log-level "loud" is not a log level/],
    [['serve', '--upstream', 'http://x', '--shutdown-grace', 'soon'], /--shutdown-grace "soon" is not a duration/],
    [['serve', '--upstream', 'http://x', '--headers-timeout', '0s'], /--headers-timeout must be from 100ms to 1h/],
    [['serve', '--upstream', 'http://x', '--idle-timeout', '2h'], /--idle-timeout must be from 100ms to 1h/],
    [['serve', '--upstream', 'http://x', '--db', 'sqlite:/nonexistent/dir/x.db'], /\/nonexistent\/dir does not exist: create the directory first/],
    [['migrate', '--db', 'sqlite:/nonexistent/dir/x.db'], /\/nonexistent\/dir does not exist: create the directory first/],
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

test('a relative sqlite path in an existing directory still works (the file is created, not the folders)', () => {
  const dir = tempDir();
  const r = spawnSync(process.execPath, [CLI, 'migrate', '--db', 'sqlite:./asyncgate.db'], { cwd: dir, encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'asyncgate.db')));
});

test('--log-level wins over ASYNCGATE_LOG_LEVEL, which stays the fallback', async () => {
  const cases: Array<[flag: string, env: string, logged: boolean]> = [
    ['info', 'silent', true],
    ['warn', 'info', false],
  ];
  for (const [flag, env, logged] of cases) {
    const port = await TcpProxy.freePort();
    const args = ['serve', '--upstream', 'http://127.0.0.1:9', '--port', String(port), '--db', `sqlite:${join(tempDir(), 'x.db')}`, '--log-level', flag];
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ASYNCGATE_LOG_LEVEL: env }, stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/_async/health`).catch(() => undefined))?.ok);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(/asyncgate listening/.test(stdout), logged, `--log-level ${flag} with ASYNCGATE_LOG_LEVEL=${env}: ${stdout}`);
  }
});
