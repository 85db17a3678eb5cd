/**
 * The job history columns (SQLite migration 9, PostgreSQL 7): a store from before them upgrades; a job that was
 * running across the upgrade finishes as before with no history, one that was queued gets its attempts from
 * the claim on, and new jobs get all of theirs.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { adminQuery, dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from '../../test/helpers/postgres.js';
import { newJob } from './contract-fixtures.js';
import type { JobStore } from './port.js';
import { parsePgUrl } from './postgres/connect.js';
import { PostgresJobStore } from './postgres/postgres-store.js';
import { PG_MIGRATIONS } from './postgres/schema.js';
import { SQLITE_MIGRATIONS } from './sqlite/schema.js';
import { SqliteJobStore } from './sqlite/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-history-'));
const schemas = new Set<string>();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchemas(schemas);
});

const OK = { status: 200, headers: [], size: 0, contentType: null };

/** `running` (leased to 'w', token 1) and `queued` were stored before the upgrade; `store` has just upgraded. */
async function checkUpgraded(store: JobStore, running: string, queued: string): Promise<void> {
  const t = Date.now();
  assert.ok(await store.updateProgress(running, { percent: 50 }, t), 'progress on a job from before');
  assert.ok(await store.completeJob(running, 1, { state: 'succeeded', response: OK, error: null, finishedAt: t + 1 }, 60_000));
  assert.equal((await store.getJob(running))?.state, 'succeeded');
  assert.deepEqual((await store.historyOf(running)).attempts, [], 'its attempt started before the log was kept');
  assert.deepEqual((await store.historyOf(running)).progress, [{ percent: 50, at: t }]);

  const [claimed] = await store.claimJobs('w', 1, t + 10, 60_000);
  assert.equal(claimed?.id, queued);
  await store.completeJob(queued, claimed.leaseToken, { state: 'succeeded', response: OK, error: null, finishedAt: t + 20 }, 60_000);
  assert.deepEqual((await store.historyOf(queued)).attempts, [{ n: 1, startedAt: t + 10, endedAt: t + 20, outcome: 'succeeded', status: 200 }]);

  const { job } = await store.insertJob(newJob({ createdAt: t }), { owner: 'w', now: t, leaseMs: 60_000 });
  assert.deepEqual((await store.historyOf(job.id)).attempts, [{ n: 1, startedAt: t }]);
}

test('sqlite: a file from schema 8 gets the history columns (9); its jobs run on, new ones are logged', async () => {
  const path = join(dir, 'schema8.db');
  const old = new Database(path);
  for (const [i, sql] of SQLITE_MIGRATIONS.slice(0, 8).entries()) {
    old.exec(sql);
    old.pragma(`user_version = ${i + 1}`);
  }
  const insert = old.prepare(`INSERT INTO jobs (id, state, dialect, request_hash, method, url, req_headers, options, retryable,
      max_attempts, run_at, created_at, updated_at, attempts, lease_owner, lease_token, lease_expires_at)
    VALUES (?, ?, 'prefer', 'h', 'POST', '/old', '[]', '{"retentionMs":60000}', 0, 3, 0, 0, 0, ?, ?, ?, ?)`);
  insert.run('old-running', 'running', 1, 'w', 1, Date.now() + 60_000);
  insert.run('old-queued', 'queued', 0, null, 0, null);
  old.close();

  const store = new SqliteJobStore({ path });
  assert.deepEqual(store.migration, { from: 8, to: SQLITE_MIGRATIONS.length });
  await checkUpgraded(store, 'old-running', 'old-queued');
  await store.close();
});

const available = await postgresAvailable();

test('postgres: a schema at 6 gets the history columns (7); its jobs run on, new ones are logged', { skip: !available && 'PostgreSQL not reachable' }, async () => {
  const schema = uniqueSchema('history');
  schemas.add(schema);
  const first = await PostgresJobStore.open(parsePgUrl(schemaUrl(schema)));
  const t = Date.now();
  const { job: running } = await first.insertJob(newJob({ createdAt: t - 1000 }), { owner: 'w', now: t, leaseMs: 60_000 });
  const { job: queued } = await first.insertJob(newJob({ createdAt: t - 1000 }));
  await first.close();
  // The schema as it was before migration 7.
  await adminQuery(`ALTER TABLE ${schema}.jobs DROP COLUMN attempt_started_at, DROP COLUMN attempt_log, DROP COLUMN progress_log`);
  await adminQuery(`DROP TABLE ${schema}.push_subscriptions`); // migration 8
  await adminQuery(`DROP TABLE ${schema}.url_groups, ${schema}.schedules`); // the messaging migration
  await adminQuery(`DELETE FROM ${schema}.asyncgate_migrations WHERE version >= 7`);
  const store = await PostgresJobStore.open(parsePgUrl(schemaUrl(schema)));
  assert.deepEqual(store.migration, { from: 6, to: PG_MIGRATIONS.length });
  await checkUpgraded(store, running.id, queued.id);
  await store.close();
});
