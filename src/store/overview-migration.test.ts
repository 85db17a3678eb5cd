/**
 * The overview's indexes (SQLite migration 8, PostgreSQL 6): a store from before them upgrades, its jobs are
 * counted as before, and the per-minute counts read the new indexes instead of every job.
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

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-overview-'));
const schemas = new Set<string>();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchemas(schemas);
});

/** Two jobs queued, one failed, two succeeded, all within the hour. */
async function seed(store: JobStore, now: number): Promise<void> {
  for (let i = 0; i < 5; i++) await store.insertJob(newJob({ createdAt: now - 60_000 * i }));
  const claimed = await store.claimJobs('w', 3, now + 1_000_000, 10_000);
  for (const [i, job] of claimed.entries()) {
    const state = i === 0 ? 'failed' : 'succeeded';
    const response = { status: 200, headers: [], size: 0, contentType: null };
    await store.completeJob(job.id, job.leaseToken, { state, response, error: state === 'failed' ? { code: 'upstream-timeout', message: 'slow' } : null, finishedAt: now }, 60_000);
  }
}

async function checkOverview(store: JobStore, now: number): Promise<void> {
  const o = await store.overview(now - 3_600_000, now - 86_400_000, now);
  assert.deepEqual({ ...o.jobsByState }, { queued: 2, failed: 1, succeeded: 2 });
  assert.equal(o.perMinute.reduce((s, m) => s + m.accepted, 0), 5);
  assert.equal(o.perMinute.reduce((s, m) => s + m.finished, 0), 3);
  assert.equal(typeof o.oldestQueuedAt, 'number');
}

test('sqlite: a file from schema 7 gets the overview indexes (8); the overview counts its jobs; per minute reads them', async () => {
  const path = join(dir, 'schema7.db');
  const now = Date.now();
  const old = new Database(path);
  for (const [i, sql] of SQLITE_MIGRATIONS.slice(0, 7).entries()) {
    old.exec(sql);
    old.pragma(`user_version = ${i + 1}`);
  }
  // Jobs as the schema at 7 holds them: two queued, one failed, two succeeded.
  const insert = old.prepare(`INSERT INTO jobs (id, state, dialect, request_hash, method, url, req_headers, options, retryable,
      max_attempts, run_at, created_at, updated_at, finished_at) VALUES (?, ?, 'prefer', 'h', 'POST', '/old', '[]', '{}', 0, 1, ?, ?, ?, ?)`);
  for (const [i, state] of ['queued', 'queued', 'failed', 'succeeded', 'succeeded'].entries()) {
    const at = now - 60_000 * i;
    insert.run(`old-${i}`, state, at, at, now, state === 'queued' ? null : now);
  }
  old.close();

  const store = new SqliteJobStore({ path });
  assert.deepEqual(store.migration, { from: 7, to: SQLITE_MIGRATIONS.length });
  await checkOverview(store, now);
  const plan = (sql: string) => (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
  assert.match(plan(`SELECT count(*) FROM jobs INDEXED BY jobs_created WHERE created_at >= 0`), /SEARCH jobs USING COVERING INDEX jobs_created/);
  assert.match(plan(`SELECT count(*) FROM jobs WHERE state IN ('succeeded', 'failed', 'canceled') AND finished_at >= 0`), /SEARCH jobs USING COVERING INDEX jobs_finished/);
  // New jobs are counted too.
  await store.insertJob(newJob({ createdAt: now }));
  assert.equal((await store.overview(now - 3_600_000, 0, now)).jobsByState.queued, 3);
  await store.close();
});

const available = await postgresAvailable();

test('postgres: a schema at 5 gets the overview indexes (6); the overview counts its jobs', { skip: !available && 'PostgreSQL not reachable' }, async () => {
  const schema = uniqueSchema('overview');
  schemas.add(schema);
  const now = Date.now();
  const first = await PostgresJobStore.open(parsePgUrl(schemaUrl(schema)));
  await seed(first, now);
  await first.close();
  await adminQuery(`DROP INDEX ${schema}.jobs_created, ${schema}.jobs_finished`);
  await adminQuery(`ALTER TABLE ${schema}.jobs DROP COLUMN attempt_started_at, DROP COLUMN attempt_log, DROP COLUMN progress_log`);
  await adminQuery(`DROP TABLE ${schema}.push_subscriptions`); // migration 8
  await adminQuery(`DROP TABLE ${schema}.url_groups, ${schema}.schedules`); // the messaging migration
  await adminQuery(`DELETE FROM ${schema}.asyncgate_migrations WHERE version >= 6`);
  const store = await PostgresJobStore.open(parsePgUrl(schemaUrl(schema)));
  assert.deepEqual(store.migration, { from: 5, to: PG_MIGRATIONS.length });
  const indexes = await adminQuery<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexname IN ('jobs_created', 'jobs_finished') ORDER BY 1`, [schema]);
  assert.deepEqual(indexes.map((r) => r.indexname), ['jobs_created', 'jobs_finished']);
  await checkOverview(store, now);
  await store.close();
});
