import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { jobStoreContract, newJob } from '../job-store.contract.js';
import { SqliteJobStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

jobStoreContract('sqlite', async () => new SqliteJobStore({ path: join(dir, `store-${n++}.db`) }));

test('sqlite: WAL with synchronous=FULL, and a batch of writes shares one commit', async () => {
  const store = new SqliteJobStore({ path: join(dir, 'pragmas.db') });
  assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(store.db.pragma('synchronous', { simple: true }), 2); // FULL
  const before = store.writes.stats.batches;
  await Promise.all(Array.from({ length: 50 }, () => store.insertJob(newJob())));
  assert.equal(store.writes.stats.batches - before, 1);
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
  await again.close();
});
