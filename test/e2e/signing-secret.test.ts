/**
 * The webhook signing secret asyncgate generates, from a receiver's side: its creation is logged with where it
 * is kept (never the secret), `asyncgate secret show` prints it from the real SQLite file, and it verifies the
 * callbacks the gateway sends. With it, what docs/callbacks.md says about verifying: the `standardwebhooks`
 * package's `verify(rawBody, headers)` throws on a text body (it JSON-parses the payload), while
 * `verifyWebhook` from asyncgate/client returns the text. The CLI runs from dist/: `npm run build` first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook, WebhookVerificationError } from 'asyncgate/client';
import { CLI, eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { TinyServer } from '../helpers/tiny-server.js';

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
const GENERATED = /generated a webhook signing secret/;

/** The upstream (GET /hello: plain text) and the callback receiver (/hook/…) in one. */
let server: TinyServer;
before(async () => {
  server = await new TinyServer((req, res) => {
    if (req.path === '/hello') res.writeHead(200, { 'content-type': 'text/plain' }).end('Hello world');
    else res.writeHead(204).end();
  }).start();
});
after(() => server.close());

test('`secret show` on a database that is not there: exit 1, and no file is created', () => {
  const file = join(tempDir(), 'typo.db');
  const r = cli('secret', 'show', '--db', `sqlite:${file}`);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /no database at .*typo\.db/);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(file), false);
});

test('`secret` without `show`, or with an unknown flag, is a usage error', () => {
  for (const args of [['secret'], ['secret', 'list'], ['secret', 'show', '--bogus']]) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /asyncgate secret --help/);
  }
  assert.match(cli('secret', '--help').stdout, /Usage: asyncgate secret show/);
});

describe('a gateway on a new SQLite file', () => {
  const file = join(tempDir(), 'gateway.db');
  const db = `sqlite:${file}`;
  let gw: GatewayProcess;
  let secret = '';
  before(async () => {
    gw = await new GatewayProcess(['--upstream', server.url, '--db', db, '--allow-callback-hosts', '127.0.0.1']).start();
  });
  after(() => gw?.stop());

  test('logs (info) that it generated a signing secret, where it is kept and how to see it', () => {
    const lines = gw.logs.filter((l) => GENERATED.test(String(l.msg)));
    assert.equal(lines.length, 1, JSON.stringify(gw.logs));
    assert.equal(lines[0]!.level, 30); // pino's info
    assert.equal(lines[0]!.db, `sqlite:${file}`);
    assert.match(String(lines[0]!.msg), new RegExp(`kept in sqlite:${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; \`asyncgate secret show --db`));
  });

  test('`secret show` prints it while the gateway runs; no log line holds it', () => {
    const r = cli('secret', 'show', '--db', db);
    assert.equal(r.status, 0, r.stderr);
    const m = /^ASYNCGATE_SIGNING_SECRET=(whsec_[A-Za-z0-9+/=]+)\n$/.exec(r.stdout);
    assert.ok(m, r.stdout); // and no public key line: ed25519 is off
    secret = m[1]!;
    assert.ok(!JSON.stringify(gw.logs).includes(secret.slice('whsec_'.length)), 'the secret is not logged');
    assert.ok(!gw.stderr.includes(secret.slice('whsec_'.length)));
  });

  test('it verifies a text callback; the standardwebhooks package’s verify(rawBody, headers) throws on it, verifyWebhook returns the text', async () => {
    assert.ok(secret, 'needs the secret from the test before');
    const res = await fetch(`${gw.url}/hello`, { headers: { pragma: 'redirect', callback: `<${server.url}/hook/text>` } });
    assert.equal(res.status, 202);
    const got = await eventually(async () => server.requests('/hook/text')[0], 15_000);
    assert.equal(got.body, 'Hello world');
    const headers = got.headers as Record<string, string>;

    // The snippet as the package's README gives it: the signature matches, then JSON.parse('Hello world') throws.
    assert.throws(() => new Webhook(secret).verify(got.body, headers), SyntaxError);
    // With jsonParse: false it verifies, but hands back no payload: the receiver keeps the raw body itself.
    assert.equal(new Webhook(secret).verify(got.body, headers, { jsonParse: false }), undefined);
    // asyncgate's own: the text.
    assert.equal(verifyWebhook(secret, got.headers, got.body), 'Hello world');
    // …and it does check: another key is refused.
    assert.throws(() => verifyWebhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, got.headers, got.body), WebhookVerificationError);
  });

  test('a restart keeps the secret and does not log a new one', async () => {
    await gw.stop();
    gw = await new GatewayProcess(['--upstream', server.url, '--db', db]).start();
    assert.deepEqual(gw.logs.filter((l) => GENERATED.test(String(l.msg))), []);
    assert.equal(cli('secret', 'show', '--db', db).stdout, `ASYNCGATE_SIGNING_SECRET=${secret}\n`);
  });
});

test('with --sign-ed25519, `secret show` also prints the public key the gateway publishes', async () => {
  const db = `sqlite:${join(tempDir(), 'ed.db')}`;
  const gw = await new GatewayProcess(['--upstream', server.url, '--db', db, '--sign-ed25519']).start();
  try {
    const { publicKey } = (await (await fetch(`${gw.url}/_async/webhook-key`)).json()) as { publicKey: string };
    const r = cli('secret', 'show', '--db', db);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^ASYNCGATE_SIGNING_SECRET=whsec_\\S+\\nASYNCGATE_WEBHOOK_PUBLIC_KEY=${publicKey.replace(/[+]/g, '\\+')}\\n$`));
  } finally {
    await gw.stop();
  }
});

test('a gateway given --signing-secret generates none: `secret show` says so (exit 1)', async () => {
  const db = `sqlite:${join(tempDir(), 'given.db')}`;
  const gw = await new GatewayProcess(['--upstream', server.url, '--db', db, '--signing-secret', `whsec_${Buffer.alloc(32, 1).toString('base64')}`]).start();
  try {
    assert.deepEqual(gw.logs.filter((l) => GENERATED.test(String(l.msg))), []);
    const r = cli('secret', 'show', '--db', db);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /holds no generated signing secret/);
  } finally {
    await gw.stop();
  }
});
