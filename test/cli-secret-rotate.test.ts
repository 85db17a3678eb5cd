/**
 * `asyncgate secret show` and `asyncgate secret rotate` against a running gateway, on SQLite and on PostgreSQL:
 * a rotation reaches the running server (it re-reads the stored secrets every 30 s), callbacks are then signed
 * with the new and the old secret and verify with the `standardwebhooks` package under each; `--finish` forgets
 * the old one, and a (re)starting server signs with the new one alone.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { runCli } from './helpers/cli-process.js';
import { eventually, GatewayProcess, tempDir } from './helpers/gateway-process.js';
import { dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from './helpers/postgres.js';
import { TinyServer, type TinyRequest } from './helpers/tiny-server.js';

const server = new TinyServer((req, res) => {
  if (req.path.startsWith('/hook/')) return res.writeHead(204).end();
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.path }));
});
before(() => server.start());
after(() => server.close());

const v1Count = (r: TinyRequest) => String(r.headers['webhook-signature']).split(' ').filter((s) => s.startsWith('v1,')).length;
const verifies = (secret: string, r: TinyRequest) => {
  try {
    new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
};

const schemas: string[] = [];
after(() => dropSchemas(schemas));

function backend(name: string, dbUrl: () => Promise<string | undefined>) {
  describe(`secret show and rotate on ${name}`, () => {
    let gw: GatewayProcess | undefined;
    let db = '';
    let n = 0;
    const start = async () => {
      gw = await new GatewayProcess(['--upstream', server.url, '--db', db, '--allow-callback-hosts', '127.0.0.1']).start();
    };
    before(async () => {
      db = (await dbUrl()) ?? '';
      if (db) await start();
    });
    after(() => gw?.stop());

    /** Submit a job with a callback and wait for the callback. */
    const callback = async (): Promise<TinyRequest> => {
      const hook = `/hook/${name}-${++n}`;
      const res = await fetch(`${gw!.url}/report/${n}`, { headers: { prefer: 'respond-async', pragma: 'redirect', callback: `<${server.url}${hook}>` } });
      assert.equal(res.status, 202);
      return eventually(async () => server.requests(hook)[0], 15_000);
    };
    const secrets = async () => {
      const r = await runCli(['secret', 'show', '--db', db]);
      assert.equal(r.status, 0, r.stderr);
      return Object.fromEntries(r.stdout.trimEnd().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
    };

    test('rotate: the running server signs with both, each verifies; --finish: the new one alone', { timeout: 120_000 }, async (t) => {
      if (!db) return t.skip('PostgreSQL is not available');
      const before = await secrets();
      const old = before.ASYNCGATE_SIGNING_SECRET!;
      assert.match(old, /^whsec_/);
      assert.deepEqual(Object.keys(before), ['ASYNCGATE_SIGNING_SECRET']);
      const first = await callback();
      assert.equal(v1Count(first), 1);
      assert.ok(verifies(old, first));

      const rotated = await runCli(['secret', 'rotate', '--db', db]);
      assert.equal(rotated.status, 0, rotated.stderr);
      const m = /^ASYNCGATE_SIGNING_SECRET=(whsec_\S+)\nASYNCGATE_SIGNING_SECRET_RETIRING=(whsec_\S+)\n$/.exec(rotated.stdout);
      assert.ok(m, rotated.stdout);
      const [, fresh, retiring] = m;
      assert.equal(retiring, old);
      assert.notEqual(fresh, old);
      assert.match(rotated.stderr, /rotation started .* within 30 s/);
      assert.match(rotated.stderr, /asyncgate secret rotate --finish --db /);
      assert.deepEqual(await secrets(), { ASYNCGATE_SIGNING_SECRET: fresh, ASYNCGATE_SIGNING_SECRET_RETIRING: old });

      const again = await runCli(['secret', 'rotate', '--db', db]);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /a rotation is already under way .* finish it first/);

      // The running server picks it up on its next re-read (every 30 s), without a restart.
      const both = await eventually(async () => {
        const r = await callback();
        return v1Count(r) === 2 ? r : undefined;
      }, 45_000, 1_000);
      assert.ok(verifies(fresh!, both), 'verifies with the new secret');
      assert.ok(verifies(old, both), 'and with the old one');
      assert.ok(!verifies(`whsec_${Buffer.alloc(32, 9).toString('base64')}`, both), 'and not with another');
      assert.ok(gw!.logs.some((l) => /signing rotation: callbacks are now signed with the new and the retiring secret/.test(String(l.msg))));

      const finished = await runCli(['secret', 'rotate', '--finish', '--db', db]);
      assert.equal(finished.status, 0, finished.stderr);
      assert.equal(finished.stdout, `ASYNCGATE_SIGNING_SECRET=${fresh}\n`);
      assert.deepEqual(await secrets(), { ASYNCGATE_SIGNING_SECRET: fresh });
      const twice = await runCli(['secret', 'rotate', '--finish', '--db', db]);
      assert.equal(twice.status, 1);
      assert.match(twice.stderr, /no rotation is under way/);

      // A starting server reads the stored secrets at once.
      await gw!.stop();
      await start();
      const after = await callback();
      assert.equal(v1Count(after), 1);
      assert.ok(verifies(fresh!, after));
      assert.ok(!verifies(old, after), 'the old secret no longer verifies');
    });
  });
}

backend('SQLite', async () => `sqlite:${join(tempDir(), 'rotate.db')}`);
backend('PostgreSQL', async () => {
  if (!(await postgresAvailable())) return undefined;
  const schema = uniqueSchema('cli_rotate');
  schemas.push(schema);
  return schemaUrl(schema);
});

test('secret rotate on a database without a generated secret, or with a stray flag', async () => {
  const db = `sqlite:${join(tempDir(), 'empty.db')}`;
  const migrated = await runCli(['migrate', '--db', db]);
  assert.equal(migrated.status, 0, migrated.stderr);
  const r = await runCli(['secret', 'rotate', '--db', db]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /holds no generated signing secret/);
  const usage = await runCli(['secret', 'show', '--finish', '--db', db]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--finish goes with secret rotate/);
  const help = await runCli(['secret', '--help']);
  assert.match(help.stdout, /asyncgate secret rotate \[--finish\]/);
  assert.match(help.stdout, /re-reads the stored secrets every 30 s/);
});
