import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { jobStoreContract, newJob } from '../job-store.contract.js';
import { newSchedule } from '../messaging.contract.js';
import { SQLITE_MIGRATIONS } from './schema.js';
import { SqliteJobStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

jobStoreContract('sqlite', async () => new SqliteJobStore({ path: join(dir, `store-${n++}.db`) }));

test('sqlite: WAL synced by the store (NORMAL inside SQLite), a batch of writes shares one commit and one sync', async () => {
  const store = new SqliteJobStore({ path: join(dir, 'pragmas.db') });
  assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(store.db.pragma('synchronous', { simple: true }), 1); // NORMAL: the WriteQueue fdatasyncs the WAL
  const before = { ...store.writes.stats };
  await Promise.all(Array.from({ length: 50 }, () => store.insertJob(newJob())));
  assert.equal(store.writes.stats.batches - before.batches, 1);
  assert.equal(store.writes.stats.syncs - before.syncs, 1);
  await store.close();
});

test('sqlite: in memory (no WAL file) it keeps synchronous=FULL', async () => {
  const store = new SqliteJobStore({ path: ':memory:' });
  assert.equal(store.db.pragma('synchronous', { simple: true }), 2);
  const { job } = await store.insertJob(newJob());
  assert.equal((await store.getJob(job.id))?.id, job.id);
  await store.close();
});

test('sqlite: a failing write in a batch is rolled back alone', async () => {
  const store = new SqliteJobStore({ path: join(dir, 'savepoint.db') });
  const job = newJob();
  const results = await Promise.allSettled([store.insertJob(job), store.insertJob({ ...job }), store.insertJob(newJob())]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.ok(await store.getJob(job.id));
  await store.close();
});

test('sqlite: data survives reopening the file', async () => {
  const path = join(dir, 'reopen.db');
  const store = new SqliteJobStore({ path });
  const { job } = await store.insertJob(newJob());
  await store.close();
  const again = new SqliteJobStore({ path });
  assert.equal((await again.getJob(job.id))?.id, job.id);
  assert.equal(again.db.pragma('synchronous', { simple: true }), 1); // the WAL file was found again
  await again.close();
});

test('sqlite: a file from schema 2 migrates, and its pending and failed deliveries are still found', async () => {
  const path = join(dir, 'schema2.db');
  const old = new Database(path);
  for (const [i, sql] of SQLITE_MIGRATIONS.slice(0, 2).entries()) {
    old.exec(sql);
    old.pragma(`user_version = ${i + 1}`);
  }
  const insert = old.prepare(`INSERT INTO deliveries (id, job_id, url, host, method, mode, state, round, next_attempt_at, created_at, updated_at)
    VALUES (?, 'j', 'https://a.example/cb', 'a.example', 'POST', 'response', ?, ?, 1, 1, ?)`);
  insert.run('msg_due', 'pending', 0, 1);
  insert.run('msg_retry', 'pending', 2, 1);
  insert.run('msg_dead', 'failed', 0, 5);
  old.close();
  const store = new SqliteJobStore({ path });
  assert.equal(store.db.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length);
  const claimed = await store.claimDeliveries('d', 10, 10, 1000, 4, {});
  assert.deepEqual(claimed.map((d) => d.id), ['msg_due', 'msg_retry']);
  assert.equal(await store.redeliverFailedSince(5, 20), 1);
  await store.close();
});

test('sqlite: migration 5 respells the job error codes of jobs stored before it', async () => {
  const path = join(dir, 'codes.db');
  const store = new SqliteJobStore({ path });
  const { job } = await store.insertJob(newJob());
  await store.cancelJob(job.id, { code: 'canceled', message: 'the job was canceled' }, Date.now(), 60_000);
  await store.close();
  // The row as asyncgate wrote it before migration 5 (and the schema without the later migrations).
  const db = new Database(path);
  db.prepare(`UPDATE jobs SET error = json_set(error, '$.code', 'Canceled') WHERE id = ?`).run(job.id);
  // SQLite 3.53's FTS5 leaves the job_text_content shadow table of a contentless_unindexed table behind on
  // DROP TABLE, and only unsafe mode may drop a shadow table.
  db.unsafeMode(true);
  db.exec(`ALTER TABLE tombstones DROP COLUMN owner; DROP TABLE job_text; DROP TABLE job_text_content; DROP INDEX jobs_idempotency_key;
    ALTER TABLE jobs DROP COLUMN req_text_rowid; ALTER TABLE jobs DROP COLUMN res_text_rowid; DROP INDEX jobs_created; DROP INDEX jobs_finished;
    ALTER TABLE jobs DROP COLUMN attempt_started_at; ALTER TABLE jobs DROP COLUMN attempt_log; ALTER TABLE jobs DROP COLUMN progress_log;
    DROP TABLE push_subscriptions; DROP TABLE url_groups; DROP TABLE schedules;
    DROP INDEX jobs_ready; DROP INDEX jobs_group; DROP INDEX jobs_group_due; ALTER TABLE jobs DROP COLUMN grp; DROP TABLE job_groups`);
  db.pragma('user_version = 4');
  db.close();
  const reopened = new SqliteJobStore({ path });
  assert.deepEqual(reopened.migration, { from: 4, to: SQLITE_MIGRATIONS.length });
  assert.deepEqual((await reopened.getJob(job.id))?.error, { code: 'canceled', message: 'the job was canceled' });
  await reopened.close();
});

test('sqlite: a file from schema 6 migrates (search, 7): its jobs are listed and found by id, key and URL; new ones by their words', async () => {
  const path = join(dir, 'schema6.db');
  const old = new Database(path);
  for (const [i, sql] of SQLITE_MIGRATIONS.slice(0, 6).entries()) {
    old.exec(sql);
    old.pragma(`user_version = ${i + 1}`);
  }
  old.prepare(`INSERT INTO jobs (id, state, dialect, idempotency_key, request_hash, method, url, req_headers, req_body, options,
      retryable, max_attempts, run_at, created_at, updated_at) VALUES ('old-job', 'queued', 'prefer', 'old-key', 'h', 'POST',
      '/legacy/path', '[]', x'6869', '{"retentionMs":1000,"timeoutMs":1000,"retryable":false,"maxAttempts":1}', 0, 1, 1, 1, 1)`).run();
  old.close();
  const store = new SqliteJobStore({ path });
  assert.deepEqual(store.migration, { from: 6, to: SQLITE_MIGRATIONS.length });
  const found = async (search: string) => (await store.listJobs({ limit: 10, search })).map((j) => j.id);
  assert.deepEqual(await found('old-job'), ['old-job']);
  assert.deepEqual(await found('old-key'), ['old-job']);
  assert.deepEqual(await found('legacy/pa'), ['old-job']);
  const { job } = await store.insertJob(newJob({ request: { method: 'POST', url: '/new', headers: [], body: Buffer.from('fresh words') } }));
  assert.deepEqual(await found('fresh'), [job.id]);
  assert.equal((await store.retryJob('old-job', Date.now()))?.retried, false);
  await store.close();
});

test('sqlite: url groups and schedules are in the file: a store opened again has them', async () => {
  const path = join(dir, 'messaging.db');
  const store = new SqliteJobStore({ path });
  const schedule = newSchedule('alice', 5000, { body: new Uint8Array([0, 1, 254, 255]) });
  await store.messaging.addEndpoints(null, 'orders', [{ name: 'a', url: 'https://a.example/' }], 1000);
  await store.messaging.putSchedule(schedule);
  await store.messaging.advanceSchedule(schedule.id, 5000, 6000, ['msg_1'], 5001);
  await store.close();
  const reopened = new SqliteJobStore({ path });
  assert.deepEqual((await reopened.messaging.urlGroup(null, 'orders'))?.endpoints, [{ name: 'a', url: 'https://a.example/' }]);
  assert.deepEqual(await reopened.messaging.schedule('alice', schedule.id), { ...schedule, nextAt: 6000, lastAt: 5000, lastMessageIds: ['msg_1'], updatedAt: 5001 });
  await reopened.close();
});
