/**
 * `asyncgate fetch` as a subprocess against the real gateway process and a real upstream: curl -i output,
 * exit codes, plain progress lines on a pipe, a progress bar in a pseudo-terminal (script(1)), Ctrl-C cancels.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, eventually, tempDir, type GatewayProcess } from './helpers/gateway-process.js';
import { verifyWebhook } from '../src/client/verify-webhook.js';
import type { Receiver } from './helpers/receiver.js';
import { ClientTestbed } from './helpers/client-testbed.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const bed = new ClientTestbed();
let gw: GatewayProcess;
let receiver: Receiver;
const dir = tempDir();

before(async () => {
  await bed.start();
  ({ gw, receiver } = bed);
});
after(() => bed.stop());

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command with pipes, without blocking this process (the upstream lives in it). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** `asyncgate fetch …` with pipes: not a terminal. */
const fetchCli = (...args: string[]) => run(process.execPath, [CLI, 'fetch', ...args]);

describe('asyncgate fetch', () => {
  test('prints the final response like curl -i, progress as plain lines on stderr, exit 0', async () => {
    const r = await fetchCli(`${gw.url}/slow?ms=1500`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(r.stdout, /\r\ncontent-type: application\/json\r\n/);
    assert.ok(r.stdout.endsWith('\r\n\r\n{"slept":1500}'), r.stdout);
    assert.match(r.stderr, /^asyncgate: 202 Accepted, monitor http:\/\/127\.0\.0\.1:\d+\/_async\/jobs\/[\w~-]+\n/);
    assert.match(r.stderr, /asyncgate: Succeeded 100%\n$/);
    assert.ok(!r.stderr.includes('\x1b['), 'no terminal escapes on a pipe');
  });

  test('-X, -H and -d reach the upstream; -d @file reads the file', async () => {
    const file = join(dir, 'body.json');
    writeFileSync(file, '{"cart_id":42}');
    const r = await fetchCli('-X', 'PUT', '-H', 'X-Test: yes', '-H', 'Content-Type: application/json', '-d', `@${file}`, `${gw.url}/echo`, '-s');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', '--silent');
    const echoed = JSON.parse(r.stdout.slice(r.stdout.indexOf('\r\n\r\n') + 4)) as { method: string; body: string; headers: Record<string, string> };
    assert.equal(echoed.method, 'PUT');
    assert.equal(echoed.body, '{"cart_id":42}');
    assert.equal(echoed.headers['x-test'], 'yes');
    assert.equal(echoed.headers['content-type'], 'application/json');
  });

  test('exit codes: 1 for a non-2xx final response, 3 for a failed job, 4 for --timeout, 5 unreachable, 0 for --no-wait', async () => {
    const notOk = await fetchCli(`${gw.url}/status/500`);
    assert.equal(notOk.status, 1);
    assert.match(notOk.stdout, /^HTTP\/1\.1 500 Internal Server Error\r\n/);

    const failed = await fetchCli(`${gw.url}/hang`);
    assert.equal(failed.status, 3);
    assert.match(failed.stderr, /the job failed: upstream-timeout/);
    assert.equal(failed.stdout, '');

    const timedOut = await fetchCli('--timeout', '1s', `${gw.url}/slow?ms=60000`);
    assert.equal(timedOut.status, 4);
    assert.match(timedOut.stderr, /no final response within 1000 ms; the job is still at http:\/\/\S+\/_async\/jobs\//);

    const port = await TcpProxy.freePort();
    const unreachable = await fetchCli(`http://127.0.0.1:${port}/x`);
    assert.equal(unreachable.status, 5);
    assert.match(unreachable.stderr, new RegExp(`asyncgate: fetch failed: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\n`), 'the cause is shown');
    // Port 9 is one fetch refuses to use at all: that is the cause there.
    assert.match((await fetchCli('http://127.0.0.1:9/x')).stderr, /asyncgate: fetch failed: bad port\n/);

    const noWait = await fetchCli('--no-wait', `${gw.url}/ok`);
    assert.equal(noWait.status, 0);
    assert.match(noWait.stdout, /^HTTP\/1\.1 202 Accepted\r\n/);
    assert.match(noWait.stdout, /\r\noperation-location: http:/);
    assert.match(noWait.stdout, /\}\n$/, 'the status document ends with a newline, so a shell prompt starts on its own line');
  });

  test('--callback with --no-wait: the 202 is printed and the signed result reaches the receiver', async () => {
    const r = await fetchCli('--callback', `${receiver.url}/cli`, '--callback-secret', 'cli-secret', '--no-wait', `${gw.url}/ok`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 202 Accepted\r\n/);
    const delivery = await eventually(async () => receiver.received.find((d) => d.url === '/cli'));
    assert.equal(verifyWebhook('cli-secret', delivery.headers, delivery.body), 'Hello world');
  });

  test('usage errors exit 2 with a readable message', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /a URL is required/],
      [['ftp://x'], /is not an http\(s\) URL/],
      [['http://x', 'http://y'], /one URL expected, got 2/],
      [['-H', 'novalue', 'http://x'], /-H "novalue" is not "Name: value"/],
      [['--callback-mode', 'notify', 'http://x'], /need --callback URL/],
      [['--callback', 'http://h/cb', '--callback-mode', 'shout', 'http://x'], /--callback-mode must be/],
      [['--timeout', 'soon', 'http://x'], /--timeout "soon" is not a duration/],
      [['-d', '@/nonexistent', 'http://x'], /--data @\/nonexistent/],
      [['--bogus', 'http://x'], /unknown flag '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(process.execPath, [CLI, 'fetch', ...args], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const help = spawnSync(process.execPath, [CLI, 'help', 'fetch'], { encoding: 'utf8' });
    assert.match(help.stdout, /Usage: asyncgate fetch URL/);
    assert.match(spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout, /\n {2}fetch +send a request asynchronously/);
  });

  test('Ctrl-C (SIGINT) cancels the job and exits 130', async () => {
    const child = spawn(process.execPath, [CLI, 'fetch', `${gw.url}/slow?ms=60000`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const monitor = await eventually(async () => /monitor (\S+)/.exec(stderr)?.[1]);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.match(stderr, /interrupted; canceled the job/);
    const status = (await (await fetch(monitor)).json()) as { status: string };
    assert.equal(status.status, 'Canceled');
  });

  test('on a terminal, a progress bar is drawn in place on stderr, then cleared before the response', async () => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} fetch '${gw.url}/slow?ms=1500'`;
    const r = await run('script', ['-qfec', command, '/dev/null'], { ...process.env, COLUMNS: '100' });
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /202 Accepted, monitor http:/);
    const frames = out.split('\r\x1b[2K').filter((f) => /\[[█░]+\]/.test(f));
    assert.ok(frames.length >= 5, `the bar is redrawn (${frames.length} frames)`);
    assert.ok(frames.some((f) => /Running|NotStarted/.test(f)));
    assert.ok(frames.some((f) => /\d\d:\d\d/.test(f)), 'elapsed time shown');
    // The response comes after the bar is cleared, like curl -i (the pty turns \n into \r\n).
    assert.ok(out.includes('\r\x1b[2KHTTP/1.1 200 OK\r'), out);
    assert.match(out, /\{"slept":1500\}/);
  });
});
