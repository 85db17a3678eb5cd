/**
 * A full disk, for real: the store on a 2 MiB tmpfs, filled up by a file beside it. Writes reject with
 * StorageFullError and leave nothing behind; once the file is deleted the same store writes again. Needs
 * mount(8) (root); skipped loudly where it is not permitted, and a failure with CI=true.
 */
import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Tmpfs } from '../../../test/helpers/tmpfs.js';
import { newJob } from '../contract-fixtures.js';
import { StorageFullError } from '../errors.js';
import { SqliteJobStore } from './sqlite-store.js';

const disk = await Tmpfs.mount('2m');
after(() => disk?.unmount());

test('sqlite on a full disk: writes reject with StorageFullError and are rolled back; once space is freed it writes again', { skip: !disk && 'mount not permitted' }, async () => {
  const path = join(disk!.dir, 'jobs.db');
  const store = new SqliteJobStore({ path });
  const before = await store.insertJob(newJob());
  const filler = disk!.fill();

  const big = newJob({ request: { method: 'POST', url: '/x', headers: [], body: Buffer.alloc(256 * 1024, 1) } });
  const small = [newJob(), newJob(), newJob()];
  // One batch: the big write and three small ones queued in the same turn.
  const results = await Promise.allSettled([big, ...small].map((j) => store.insertJob(j)));
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.ok(r.reason instanceof StorageFullError, `StorageFullError, not ${String(r.reason)}`);
    assert.equal(r.reason.code, 'storage-full');
  }
  // Rolled back: none of them is there, and what was there still is.
  for (const j of [big, ...small]) assert.equal(await store.getJob(j.id), null);
  assert.equal((await store.getJob(before.job.id))?.id, before.job.id);
  assert.ok(store.isTransient(results[0]!.status === 'rejected' ? results[0]!.reason : undefined));

  unlinkSync(filler);
  const { job } = await store.insertJob(big);
  assert.equal((await store.getJob(job.id))?.request.body?.byteLength, 256 * 1024);
  await Promise.all(small.map((j) => store.insertJob(j)));
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
  await store.close();

  const reopened = new SqliteJobStore({ path });
  for (const j of [before.job, big, ...small]) assert.equal((await reopened.getJob(j.id))?.id, j.id);
  await reopened.close();
});
