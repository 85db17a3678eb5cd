/**
 * PostgreSQL out of disk space (SQLSTATE 53100 disk_full), for real: a cluster of the test's own keeps the
 * job and result tables in a tablespace on a small tmpfs, which a filler file fills while a job runs. The
 * store reports StorageFullError; a new submission is refused with 507 storage-full and Retry-After; the
 * running job's completion is retried and stored once space is freed. Needs root (mount) and the PostgreSQL
 * binaries; skipped loudly elsewhere, a failure with CI=true.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.js';
import type { Executor } from '../../src/engine/executor.js';
import { StorageFullError } from '../../src/store/errors.js';
import { collect, newJob } from '../../src/store/contract-fixtures.js';
import { openPostgres } from '../../src/store/postgres/open.js';
import { eventually } from '../helpers/gateway-process.js';
import { PgCluster, userIds } from '../helpers/pg-cluster.js';
import { Tmpfs } from '../helpers/tmpfs.js';

test('PostgreSQL out of disk: 507 for new jobs, and the running job completes once space is freed', { timeout: 90_000 }, async (t) => {
  const cluster = await PgCluster.create();
  if (!cluster) return t.skip('cannot run a PostgreSQL cluster of its own here');
  const disk = await Tmpfs.mount('4m', await userIds('postgres').catch(() => undefined));
  if (!disk) {
    await cluster.destroy();
    return t.skip('cannot mount a tmpfs here (run as root)');
  }
  const admin = new pg.Client({ connectionString: cluster.url() });
  let release: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => (release = resolve));
  let started: () => void = () => undefined;
  const running = new Promise<void>((resolve) => (started = resolve));
  const executor: Executor = async ({ signal }) => {
    started();
    await Promise.race([answered, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
    return { kind: 'response', status: 200, headers: [['content-type', 'text/plain']], body: (async function* () { yield Buffer.from('kept'); })() };
  };
  const store = await openPostgres(`${cluster.url()}?schema=diskfull`);
  const engine = new Engine({ store, executor, log: pino({ level: 'silent' }), pollMs: 60_000, rescueEveryMs: 60_000 });
  try {
    await admin.connect();
    // Only these tables (and their TOAST) on the small disk: the WAL and the catalogs stay where they are.
    await admin.query(`CREATE TABLESPACE small LOCATION '${disk.dir}'`);
    await admin.query('ALTER TABLE diskfull.jobs SET TABLESPACE small');
    await admin.query('ALTER TABLE diskfull.result_chunks SET TABLESPACE small');
    await engine.start();
    const { job } = await engine.accept(newJob({}, { retryable: true }));
    await running;

    const filler = disk.fill();
    // A body that cannot be compressed needs new pages for its TOAST: there are none.
    const big = newJob({ request: { method: 'POST', url: '/big', headers: [], body: randomBytes(200_000) } });
    const refused = await engine.accept(big).then(
      () => assert.fail('accepted on a full disk'),
      (error: unknown) => error,
    );
    // The HTTP side answers this 507 storage-full + Retry-After (test/e2e/disk-full.test.ts).
    assert.ok(refused instanceof StorageFullError, String(refused));

    // The result needs a new page of result_chunks: its completion is refused, and retried.
    release();
    await eventually(async () => (await store.getJob(job.id))?.state === 'running' && engine.stats.running === 1, 10_000);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await store.getJob(job.id))?.state, 'running');
    assert.equal(engine.stats.running, 1);

    rmSync(filler);
    await eventually(async () => (await store.getJob(job.id))?.state !== 'running', 30_000, 100);
    const done = await store.getJob(job.id);
    assert.equal(done?.state, 'succeeded', JSON.stringify(done?.error));
    assert.equal((await collect(store.readResult(job.id))).toString(), 'kept');
    assert.equal((await engine.accept(big)).created, true);
  } finally {
    await engine.stop(100).catch(() => undefined);
    await store.close();
    await admin.end().catch(() => undefined);
    await cluster.destroy();
    await disk.unmount();
  }
});
