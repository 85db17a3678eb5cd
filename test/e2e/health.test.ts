/**
 * Health for load balancers and orchestrators: `/health/live` answers while the process does; `/health/ready`
 * is 503 with its reason for the whole of a SIGTERM drain (on the listener that stays open while requests in
 * flight finish), while the store is unreachable (a PostgreSQL cluster of the test's own, stopped, and its
 * connections terminated), and while the database is not at the migration this process runs; 200 again once
 * it is. Real gateway processes.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { eventually, GatewayProcess, tempDir } from '../helpers/gateway-process.js';
import { PgCluster } from '../helpers/pg-cluster.js';
import { TestUpstream } from '../helpers/upstream.js';

const upstream = new TestUpstream();
const dir = tempDir();
before(() => upstream.start());
after(() => upstream.close());

async function health(base: string, which: 'live' | 'ready'): Promise<{ status: number; body: { status: string; reason?: string; detail?: string } }> {
  const res = await fetch(`${base}/_async/health/${which}`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string; detail?: string } };
}

test('live and ready answer 200; HEAD too; the summary /health stays', async () => {
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'ok.db')}`]).start();
  try {
    assert.deepEqual(await health(gw.url, 'live'), { status: 200, body: { status: 'ok' } });
    assert.deepEqual(await health(gw.url, 'ready'), { status: 200, body: { status: 'ready' } });
    assert.equal((await fetch(`${gw.url}/_async/health/ready`, { method: 'HEAD' })).status, 200);
    const summary = (await (await fetch(`${gw.url}/_async/health`)).json()) as { status: string };
    assert.equal(summary.status, 'ok');
  } finally {
    await gw.stop();
  }
});

test('SIGTERM: ready is 503 draining for the whole drain while a request in flight finishes; live stays 200; then exit', async () => {
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${join(dir, 'drain.db')}`, '--shutdown-grace', '10s']).start();
  const inFlight = fetch(`${gw.url}/slow?ms=2500`).then(async (r) => ({ status: r.status, text: await r.text() }));
  await eventually(async () => upstream.seen.some((s) => s.url.startsWith('/slow?ms=2500')));
  const exited = gw.stop();
  // Each worker hears the SIGTERM from the primary, a moment later: from the first 503 on, it is 503 throughout.
  await eventually(async () => (await health(gw.url, 'ready')).status === 503, 2_000, 10);
  const seen: number[] = [];
  // Until the request finishes, every readiness check is 503 with its reason; liveness stays 200.
  for (let done = false; !done; ) {
    const ready = await health(gw.url, 'ready').catch(() => undefined);
    if (!ready) break; // the listener closed: the drain is over
    assert.equal(ready.status, 503);
    assert.deepEqual([ready.body.status, ready.body.reason], ['not-ready', 'draining']);
    seen.push(ready.status);
    assert.equal((await health(gw.url, 'live').catch(() => ({ status: 200 }))).status, 200);
    done = await Promise.race([inFlight.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100))]);
  }
  assert.ok(seen.length >= 5, `ready was checked ${seen.length} times during the drain`);
  assert.equal((await inFlight).status, 200, 'the request in flight finished normally');
  assert.equal(await exited, 0);
});

test('the database at another migration: 503 migrations-pending or schema-newer, then 200 once it matches', async () => {
  const file = join(dir, 'schema.db');
  const gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `sqlite:${file}`]).start();
  const db = new Database(file);
  try {
    const current = db.pragma('user_version', { simple: true }) as number;
    db.pragma(`user_version = ${current - 1}`);
    let r = await health(gw.url, 'ready');
    assert.equal(r.status, 503);
    assert.equal(r.body.reason, 'migrations-pending');
    assert.match(r.body.detail ?? '', /asyncgate migrate/);
    db.pragma(`user_version = ${current + 1}`);
    r = await health(gw.url, 'ready');
    assert.deepEqual([r.status, r.body.reason], [503, 'schema-newer']);
    db.pragma(`user_version = ${current}`);
    assert.equal((await health(gw.url, 'ready')).status, 200);
  } finally {
    db.close();
    await gw.stop();
  }
});

test('PostgreSQL: connections terminated, then the cluster stopped: 503 store-unreachable; back: 200', { timeout: 90_000 }, async (t) => {
  const cluster = await PgCluster.create();
  if (!cluster) return t.skip('cannot run a PostgreSQL cluster of its own here');
  let gw: GatewayProcess | undefined;
  try {
    gw = await new GatewayProcess(['--upstream', upstream.url, '--db', `${cluster.url()}?schema=health`]).start();
    assert.equal((await health(gw.url, 'ready')).status, 200);
    // Every connection of the gateway terminated: the next checks reconnect and answer 200 again.
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    const { rowCount } = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`);
    await admin.end();
    assert.ok((rowCount ?? 0) >= 1);
    await eventually(async () => (await health(gw!.url, 'ready')).status === 200, 20_000, 200);

    await cluster.stop();
    const down = await eventually(async () => {
      const r = await health(gw!.url, 'ready');
      return r.status === 503 ? r : undefined;
    }, 20_000, 200);
    assert.equal(down.body.reason, 'store-unreachable');
    assert.equal((await health(gw.url, 'live')).status, 200);
    await cluster.start();
    await eventually(async () => (await health(gw!.url, 'ready')).status === 200, 30_000, 250);
  } finally {
    await gw?.stop();
    await cluster.destroy();
  }
});
