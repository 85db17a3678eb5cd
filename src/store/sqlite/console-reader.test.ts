/**
 * The console's reads on the reader thread (console-reader.ts): off the event loop, consistent with the
 * store's writes, errors as the store throws them, closed with the store, restarted after a crash; and the
 * search index (migration 7) keyed by job id, so a VACUUM or a rebuilt jobs table cannot mix jobs up.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { newJob } from '../contract-fixtures.js';
import type { JobStore } from '../port.js';
import { SqliteAdminQueries } from './admin-queries.js';
import { SqliteJobStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const open = () => new SqliteJobStore({ path: join(dir, `reader-${n++}.db`) });
const text = (s: string) => Buffer.from(s);

async function finish(store: JobStore, id: string, state: 'succeeded' | 'failed', body: string | undefined): Promise<void> {
  const [claimed] = await store.claimJobs('w', 1, Date.now() + 1_000_000, 10_000);
  assert.equal(claimed?.id, id);
  const response = { status: state === 'succeeded' ? 200 : 500, headers: [], size: body?.length ?? 0, contentType: 'text/plain' };
  const error = state === 'failed' ? ({ code: 'upstream-http-error', message: 'boom' } as const) : null;
  await store.completeJob(id, claimed.leaseToken, { state, response, body: body === undefined ? undefined : text(body), error, finishedAt: Date.now() }, 60_000);
}

const found = async (store: JobStore, search: string) => (await store.listJobs({ limit: 100, search })).map((j) => j.id).sort();

/** The jobs table rebuilt as a dump and restore would: every row gets a new rowid (here in reverse order). */
function rebuildJobsTable(path: string): void {
  const db = new Database(path);
  const table = (db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'jobs'`).pluck().get() as string).replace('CREATE TABLE jobs', 'CREATE TABLE jobs_rebuilt');
  const indexes = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL`).pluck().all() as string[];
  db.transaction(() => {
    db.exec(table);
    db.exec('INSERT INTO jobs_rebuilt SELECT * FROM jobs ORDER BY id DESC');
    db.exec('DROP TABLE jobs; ALTER TABLE jobs_rebuilt RENAME TO jobs');
    for (const sql of indexes) db.exec(sql);
  })();
  db.close();
}

test('search finds the same jobs after deletions, a VACUUM and a rebuilt jobs table (rowids renumbered)', async () => {
  const path = join(dir, 'vacuum.db');
  let store = new SqliteJobStore({ path });
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const { job } = await store.insertJob(newJob({ request: { method: 'POST', url: `/v/${i}`, headers: [], body: text(`common request${String(i).padStart(2, '0')}`) } }));
    ids.push(job.id);
  }
  // Responses with words too (the second row of a job in the index), on every third job.
  for (const [i, id] of ids.entries()) await finish(store, id, 'succeeded', i % 3 === 0 ? `answer${String(i).padStart(2, '0')}` : undefined);
  assert.deepEqual(await found(store, 'common'), [...ids].sort());
  // Gaps at the start and in the middle, so that renumbering shifts every later job.
  for (const i of [0, 1, 4]) assert.equal(await store.deleteJob(ids[i]!, Date.now(), Date.now() + 60_000), true);
  const kept = ids.filter((_, i) => ![0, 1, 4].includes(i));
  await store.close();

  const vacuumed = new Database(path);
  vacuumed.exec('VACUUM');
  vacuumed.close();
  rebuildJobsTable(path);

  store = new SqliteJobStore({ path });
  assert.deepEqual(await found(store, 'common'), [...kept].sort());
  for (const [i, id] of ids.entries()) {
    const nn = String(i).padStart(2, '0');
    assert.deepEqual(await found(store, `request${nn}`), kept.includes(id) ? [id] : [], `request${nn}`);
    if (i % 3 === 0) assert.deepEqual(await found(store, `answer${nn}`), kept.includes(id) ? [id] : [], `answer${nn}`);
  }
  // Deleting and inserting after the renumbering touch only their own entries.
  await store.deleteJob(ids[6]!, Date.now(), Date.now() + 60_000);
  const { job: fresh } = await store.insertJob(newJob({ request: { method: 'POST', url: '/v/new', headers: [], body: text('common newcomer') } }));
  assert.deepEqual(await found(store, 'answer06'), []);
  assert.deepEqual(await found(store, 'answer03'), [ids[3]]);
  assert.deepEqual(await found(store, 'newcomer'), [fresh.id]);
  assert.deepEqual(await found(store, 'common'), [...kept.filter((id) => id !== ids[6]), fresh.id].sort());
  await store.close();
});

test('a retried job loses its response words, keeps its request words (index rows by job, not by rowid)', async () => {
  const store = open();
  const { job } = await store.insertJob(newJob({ request: { method: 'POST', url: '/r', headers: [], body: text('pelican') } }));
  await finish(store, job.id, 'failed', 'walrus');
  assert.deepEqual(await found(store, 'walrus'), [job.id]);
  assert.equal((await store.retryJob(job.id, Date.now()))?.retried, true);
  // Read on the reader thread right after the write's promise settled: the retry is visible there.
  assert.deepEqual((await store.listJobs({ limit: 10, state: 'queued' })).map((j) => j.id), [job.id]);
  assert.deepEqual(await found(store, 'walrus'), []);
  assert.deepEqual(await found(store, 'pelican'), [job.id]);
  await finish(store, job.id, 'succeeded', 'heron');
  assert.deepEqual(await found(store, 'heron'), [job.id]);
  await store.close();
});

test('console reads come back as the store returns them: jobs with their bodies, counts, the overview', async () => {
  const store = open();
  const { job } = await store.insertJob(newJob({ request: { method: 'PUT', url: '/body', headers: [['a', 'b']], body: text('bytes here') } }));
  const [listed] = await store.listJobs({ limit: 1 });
  assert.deepEqual(listed, await store.getJob(job.id));
  assert.equal(Buffer.from(listed!.request.body!).toString(), 'bytes here');
  assert.equal(await store.countJobs({ method: 'PUT' }, 10), 1);
  const overview = await store.overview(Date.now() - 3_600_000, Date.now() - 86_400_000, Date.now());
  assert.deepEqual(overview.jobsByState, { queued: 1 });
  assert.equal(overview.perMinute.reduce((s, m) => s + m.accepted, 0), 1);
  assert.deepEqual(await store.listDeliveries({ limit: 5 }), []);
  assert.equal(await store.countDeliveries({}, 5), 0);
  await store.close();
});

test('an error on the reader thread is the error the store would throw: SqliteError for SQLite, Error otherwise', async () => {
  const store = open();
  await store.insertJob(newJob());
  await assert.rejects(store.listJobs({ limit: 1, state: 'bogus' as 'queued' }), (e: Error) => e.constructor === Error && /not a job state/.test(e.message));
  const other = new Database(join(dir, `reader-${n - 1}.db`));
  other.exec('DROP TABLE delivery_attempts');
  other.close();
  await assert.rejects(store.overview(0, 0, 0), (e: unknown) => e instanceof Database.SqliteError && e.code === 'SQLITE_ERROR' && /delivery_attempts/.test(e.message));
  // The thread survives a failed query.
  assert.equal((await store.listJobs({ limit: 5 })).length, 1);
  await store.close();
});

test('a reader thread that died is started again on the next read; close() ends it and fails a read in flight', async () => {
  const store = open();
  await store.insertJob(newJob());
  assert.equal((await store.listJobs({ limit: 5 })).length, 1);
  const reader = (store as unknown as { reader: { worker: { terminate(): Promise<number> } | undefined } }).reader;
  const first = reader.worker!;
  await first.terminate();
  assert.equal((await store.listJobs({ limit: 5 })).length, 1);
  assert.notEqual(reader.worker, first, 'a new thread');
  const inFlight = assert.rejects(store.countJobs({ search: 'anything' }, 1_000), /closed before the console read finished/);
  await store.close();
  await inFlight;
  assert.equal(reader.worker, undefined);
  await assert.rejects(store.listJobs({ limit: 1 }), /closed/);
});

test('a database in memory reads in-thread (no other connection can open it)', async () => {
  const store = new SqliteJobStore({ path: ':memory:' });
  const { job } = await store.insertJob(newJob({ request: { method: 'POST', url: '/m', headers: [], body: text('memory words') } }));
  assert.deepEqual(await found(store, 'memory'), [job.id]);
  assert.equal((store as unknown as { reader: unknown }).reader, undefined);
  await store.close();
});

test('a long console query does not hold the event loop: timers on the main thread keep firing while it runs', async () => {
  const store = open();
  // 400,000 jobs with long URLs, written straight into the file: a search for a fragment in none of them reads
  // all. (200,000 took 39 ms once on a fast run, under the 40 ms this test needs to mean something.)
  store.db.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 400000)
    INSERT INTO jobs (id, state, dialect, request_hash, method, url, req_headers, options, retryable, max_attempts, run_at, created_at, updated_at)
    SELECT printf('%030d', i), 'succeeded', 'prefer', 'h', 'POST', '/long/' || hex(randomblob(100)), '[]', '{}', 0, 1, i, i, i FROM c`);
  const slow = { search: 'no such fragment' } as const;
  // The same query in-thread, as it ran before the reader thread: the event loop is held for all of it.
  const started = performance.now();
  const inThread = new SqliteAdminQueries(store.db).countJobs(slow, 1e9);
  const heldMs = performance.now() - started;
  assert.equal(inThread, 0);
  assert.ok(heldMs >= 40, `the query must take a while for this test to mean something (took ${heldMs.toFixed(0)} ms)`);

  await store.countJobs({ method: 'GET' }, 1); // the thread started and warm
  let ticks = 0;
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 2);
  const t0 = performance.now();
  const count = await store.countJobs(slow, 1e9);
  const tookMs = performance.now() - t0;
  clearInterval(timer);
  assert.equal(count, 0);
  assert.ok(tookMs >= heldMs / 4, `the query ran (in-thread ${heldMs.toFixed(0)} ms, on the reader ${tookMs.toFixed(0)} ms)`);
  assert.ok(maxGap < heldMs / 2, `the longest pause between two timer ticks (${maxGap.toFixed(0)} ms) is well under the query's time in-thread (${heldMs.toFixed(0)} ms)`);
  assert.ok(ticks >= 5, `the timer fired ${ticks} times during the ${tookMs.toFixed(0)} ms query`);
  await store.close();
});
