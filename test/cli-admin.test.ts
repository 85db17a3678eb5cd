/**
 * The admin CLI (`asyncgate jobs …`, `asyncgate deliveries …`) without a gateway: exit 5 with the cause when
 * nothing usable answers, exit 2 on usage errors, and the help. Against a real gateway on SQLite and on
 * PostgreSQL: cli-admin-sqlite.test.ts and cli-admin-postgres.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { runCli } from './helpers/cli-process.js';
import { TinyServer } from './helpers/tiny-server.js';

/** A port nobody listens on: one the OS gave us, closed again. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('admin CLI without a server', () => {
  test('exit 5 when nothing listens, the name does not resolve, or no answer comes in time; the cause is said', async () => {
    const refused = await runCli(['jobs', 'list', '--url', `http://127.0.0.1:${await closedPort()}`]);
    assert.equal(refused.status, 5);
    assert.match(refused.stderr, /^asyncgate: cannot reach http:\/\/127\.0\.0\.1:\d+\/_async\/admin\/jobs\?limit=50: connection refused: is asyncgate running there\? \(.*ECONNREFUSED/);
    const dns = await runCli(['deliveries', 'list', '--url', 'http://asyncgate.invalid:8080']);
    assert.equal(dns.status, 5);
    assert.match(dns.stderr, /DNS lookup failed/);
    const silent = new TinyServer(() => undefined); // reads the request, never answers
    await silent.start();
    try {
      const slow = await runCli(['jobs', 'show', 'x', '--url', silent.url, '--timeout', '300ms']);
      assert.equal(slow.status, 5);
      assert.match(slow.stderr, /no answer within 0\.3 s \(timeout/);
    } finally {
      await silent.close();
    }
    // Not an asyncgate admin API: a 2xx that is not JSON.
    const other = new TinyServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'));
    await other.start();
    try {
      const r = await runCli(['jobs', 'list', '--url', other.url]);
      assert.equal(r.status, 5);
      assert.match(r.stderr, /not JSON: is --url an asyncgate gateway/);
    } finally {
      await other.close();
    }
  });

  test('the default URL is serve’s default, http://127.0.0.1:8080, else $ASYNCGATE_URL', async () => {
    const r = await runCli(['jobs', 'list', '--timeout', '2s']);
    // Whatever answers there (likely nothing), the request went to the default.
    if (r.status === 5) assert.match(r.stderr, /http:\/\/127\.0\.0\.1:8080\/_async\/admin\/jobs/);
    const fromEnv = await runCli(['jobs', 'list'], { ASYNCGATE_URL: `http://127.0.0.1:${await closedPort()}/` });
    assert.equal(fromEnv.status, 5);
    assert.doesNotMatch(fromEnv.stderr, /\/\/_async/, 'a trailing slash is not doubled');
  });

  test('usage errors exit 2 with the command’s help hint, before anything is sent', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['jobs'], /say what to do: asyncgate jobs list/],
      [['jobs', 'frob'], /unknown jobs command 'frob'/],
      [['jobs', 'list', '--bogus'], /unknown flag '--bogus'/],
      [['jobs', 'list', '--state', 'exploded'], /--state "exploded" is not one of NotStarted, Running/],
      [['jobs', 'list', '--limit', '0'], /--limit must be a whole number from 1 to 500/],
      [['jobs', 'list', '--since', 'yesterday'], /--since "yesterday" is not a time/],
      [['jobs', 'show'], /jobs show needs a job ID/],
      [['jobs', 'cancel', 'a', 'b'], /unexpected 'b'/],
      [['jobs', 'retry'], /jobs retry needs a job ID, or filters/],
      [['jobs', 'show', 'x', '--yes'], /jobs show takes no --yes/],
      [['jobs', 'list', '--url', 'ftp://x'], /--url "ftp:\/\/x" is not an http\(s\) URL/],
      [['jobs', 'list', '--timeout', 'soon'], /--timeout "soon" is not a duration/],
      [['deliveries', 'redeliver'], /needs a delivery ID, or --since T/],
      [['deliveries', 'list', '--status', 'teapot'], /--status "teapot" is not an HTTP status/],
      [['deliveries', 'list', '--state', 'lost'], /--state "lost" is not one of waiting, pending/],
      [['deliveries', 'show', 'x', '--since', '1h'], /deliveries show takes no --since/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args.includes('--url') ? args : [...args, '--url', 'http://127.0.0.1:9']);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.match(r.stderr, new RegExp(`Run "asyncgate ${args[0]} --help" for usage`));
    }
  });

  test('--help on jobs and deliveries, also as asyncgate help CMD', async () => {
    for (const args of [['jobs', '--help'], ['help', 'jobs'], ['jobs', 'list', '--help'], ['deliveries', '--help'], ['help', 'deliveries']]) {
      const r = await runCli(args);
      assert.equal(r.status, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: asyncgate (jobs|deliveries) <command>/);
      assert.match(r.stdout, /ASYNCGATE_URL/);
      assert.match(r.stdout, /Exit codes:/);
    }
    const top = await runCli(['--help']);
    assert.match(top.stdout, /\n {2}jobs {8}list, show, cancel, retry and delete jobs/);
    assert.match(top.stdout, /\n {2}deliveries {2}list, show and redeliver callbacks/);
  });
});
