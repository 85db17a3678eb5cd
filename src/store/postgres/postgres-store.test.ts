import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { adminQuery, dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from '../../../test/helpers/postgres.js';
import { jobStoreContract, newJob } from '../job-store.contract.js';
import type { StoreChange } from '../port.js';
import { parsePgUrl } from './connect.js';
import { PostgresJobStore } from './postgres-store.js';
import { PG_MIGRATIONS } from './schema.js';

const available = await postgresAvailable();
const schemas = new Set<string>();
after(() => dropSchemas(schemas));

async function fresh(prefix = 'contract', extra = ''): Promise<PostgresJobStore> {
  const schema = uniqueSchema(prefix);
  schemas.add(schema);
  return PostgresJobStore.open(parsePgUrl(schemaUrl(schema, extra)));
}

if (available) jobStoreContract('postgres', () => fresh('contract', '&pool=4'));

describe('postgres store', { skip: !available && 'PostgreSQL not reachable' }, () => {
  test('migrations are recorded and re-opening applies nothing twice', async () => {
    const store = await fresh('migr');
    const again = await store.migrate();
    assert.equal(again.from, again.to);
    const rows = await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM ${store.schema}.asyncgate_migrations`);
    assert.equal(rows[0]!.n, again.to);
    await store.close();
  });

  test('migration 3 respells the job error codes of jobs stored before it', async () => {
    const store = await fresh('codes');
    const { job } = await store.insertJob(newJob());
    await store.cancelJob(job.id, { code: 'canceled', message: 'the job was canceled' }, Date.now(), 60_000);
    await store.close();
    // The row as asyncgate wrote it before migration 3 (and the schema without the later migrations).
    await adminQuery(`UPDATE ${store.schema}.jobs SET error = '{"code":"UpstreamTimeout","message":"m"}' WHERE id = '${job.id}'`);
    await adminQuery(`ALTER TABLE ${store.schema}.tombstones DROP COLUMN owner`);
    await adminQuery(`DROP TABLE ${store.schema}.job_search`);
    await adminQuery(`DROP INDEX ${store.schema}.jobs_idempotency_key, ${store.schema}.jobs_created, ${store.schema}.jobs_finished`);
    await adminQuery(`ALTER TABLE ${store.schema}.jobs DROP COLUMN attempt_started_at, DROP COLUMN attempt_log, DROP COLUMN progress_log`);
    await adminQuery(`DROP TABLE ${store.schema}.push_subscriptions`); // migration 8
    await adminQuery(`DROP TABLE ${store.schema}.url_groups, ${store.schema}.schedules`); // the messaging migration
    await adminQuery(`DELETE FROM ${store.schema}.asyncgate_migrations WHERE version >= 3`);
    const reopened = await PostgresJobStore.open(parsePgUrl(schemaUrl(store.schema)));
    assert.deepEqual(reopened.migration, { from: 2, to: PG_MIGRATIONS.length });
    assert.deepEqual((await reopened.getJob(job.id))?.error, { code: 'upstream-timeout', message: 'm' });
    await reopened.close();
  });

  test('migration 5 (search) upgrades a schema at 4: its jobs are listed and found by id, key and URL; new ones by their words', async () => {
    const store = await fresh('search_migr');
    const { job: before } = await store.insertJob(newJob({ idempotencyKey: 'old-key', request: { method: 'POST', url: '/legacy/path', headers: [], body: Buffer.from('old words') } }));
    await store.close();
    // The schema as it was before migration 5.
    await adminQuery(`DROP TABLE ${store.schema}.job_search`);
    await adminQuery(`DROP INDEX ${store.schema}.jobs_idempotency_key, ${store.schema}.jobs_created, ${store.schema}.jobs_finished`);
    await adminQuery(`ALTER TABLE ${store.schema}.jobs DROP COLUMN attempt_started_at, DROP COLUMN attempt_log, DROP COLUMN progress_log`);
    await adminQuery(`DROP TABLE ${store.schema}.push_subscriptions`); // migration 8
    await adminQuery(`DROP TABLE ${store.schema}.url_groups, ${store.schema}.schedules`); // the messaging migration
    await adminQuery(`DELETE FROM ${store.schema}.asyncgate_migrations WHERE version >= 5`);
    const reopened = await PostgresJobStore.open(parsePgUrl(schemaUrl(store.schema)));
    assert.deepEqual(reopened.migration, { from: 4, to: PG_MIGRATIONS.length });
    const found = async (search: string) => (await reopened.listJobs({ limit: 10, search })).map((j) => j.id);
    assert.deepEqual(await found(before.id), [before.id]);
    assert.deepEqual(await found('old-key'), [before.id]);
    assert.deepEqual(await found('LEGACY/pa'), [before.id]);
    assert.deepEqual(await found('old'), [], 'bodies stored before the upgrade are not indexed');
    const { job } = await reopened.insertJob(newJob({ request: { method: 'POST', url: '/new', headers: [], body: Buffer.from('fresh words') } }));
    assert.deepEqual(await found('fresh'), [job.id]);
    await reopened.close();
  });

  test('processes starting together migrate once (advisory lock)', async () => {
    const schema = uniqueSchema('race');
    schemas.add(schema);
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => PostgresJobStore.open(parsePgUrl(schemaUrl(schema)))),
    );
    const rows = await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.asyncgate_migrations`);
    assert.equal(rows[0]!.n, PG_MIGRATIONS.length, 'each migration recorded once');
    await Promise.all(stores.map((s) => s.close()));
  });

  test('another process is told of job changes, new work and due deliveries, not of its own', async () => {
    const schema = uniqueSchema('notify');
    schemas.add(schema);
    const a = await PostgresJobStore.open(parsePgUrl(schemaUrl(schema)));
    const b = await PostgresJobStore.open(parsePgUrl(schemaUrl(schema)));
    const seenByB: StoreChange[] = [];
    const seenByA: StoreChange[] = [];
    b.listen((c) => seenByB.push(c));
    a.listen((c) => seenByA.push(c));
    const job = newJob({
      callbacks: [{ id: 'cb-notify-1', url: 'https://example.com/hook', method: 'POST', mode: 'notify', secret: null }],
    });
    await a.insertJob(job);
    const [claimed] = await a.claimJobs('w', 1, Date.now(), 10_000);
    await a.completeJob(job.id, claimed!.leaseToken, { state: 'succeeded', response: null, error: null, finishedAt: Date.now() }, 60_000);
    await a.deleteJob(job.id, Date.now(), Date.now() + 1000);
    const deadline = Date.now() + 5_000;
    while (seenByB.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const kinds = seenByB.map((c) => (c.kind === 'job' ? `job:${c.state}:${c.version}` : c.kind));
    assert.deepEqual(kinds, ['work', 'job:running:2', 'deliveries', 'job:succeeded:3', 'gone']);
    assert.deepEqual(seenByA, [], 'a process is not told of its own writes');
    await a.close();
    await b.close();
  });

  test('a callback registered while the job completes is never left waiting', async () => {
    const store = await fresh('race_cb', '&pool=8');
    for (let round = 0; round < 20; round++) {
      const { job } = await store.insertJob(newJob());
      const [claimed] = await store.claimJobs('w', 1, Date.now(), 10_000);
      assert.equal(claimed?.id, job.id);
      const spec = { url: 'https://example.com/x', method: 'POST' as const, mode: 'notify' as const, secret: null };
      const [, delivery] = await Promise.all([
        store.completeJob(job.id, claimed.leaseToken, { state: 'succeeded', response: null, error: null, finishedAt: Date.now() }, 60_000),
        store.addCallback(job.id, spec, `race-${round}`, Date.now()),
      ]);
      assert.ok(delivery);
      assert.equal((await store.getDelivery(delivery.id))?.state, 'pending');
    }
    await store.close();
  });

  test('statements survive pg_terminate_backend of every connection', async () => {
    const store = await fresh('terminate');
    const changes: StoreChange[] = [];
    store.listen((c) => changes.push(c));
    await store.insertJob(newJob());
    await adminQuery(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
      [`asyncgate:${store.schema}`],
    );
    const { job } = await store.insertJob(newJob());
    assert.equal((await store.getJob(job.id))?.state, 'queued');
    const deadline = Date.now() + 10_000;
    while (!changes.some((c) => c.kind === 'resync') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(changes.some((c) => c.kind === 'resync'), 'the listener reconnects and asks for a resync');
    await store.close();
  });
});
