import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { WriteQueue } from './write-queue.js';

/** The fdatasync stands in for the disk (outside the product): the test decides when each one finishes. */
function controlledSync() {
  const calls: Array<{ finish: () => void; fail: (e: Error) => void }> = [];
  const sync = () => new Promise<void>((resolve, reject) => calls.push({ finish: resolve, fail: reject }));
  return { calls, sync };
}

function table() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (v INTEGER NOT NULL CHECK (v >= 0))');
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const count = () => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
  return { db, insert, count };
}

test('a write settles only after the sync of its commit; writes queued meanwhile share the next commit and sync', async () => {
  const { db, insert, count } = table();
  const disk = controlledSync();
  const q = new WriteQueue(db, disk.sync);
  let settled = 0;
  const first = [q.write(() => insert.run(1)), q.write(() => insert.run(2))].map((p) => p.then(() => settled++));
  await turn();
  assert.equal(count(), 2); // committed …
  assert.equal(disk.calls.length, 1);
  assert.equal(settled, 0); // … but not acknowledged before the sync
  const durable = q.durable();
  assert.ok(durable);
  const later = [q.write(() => insert.run(3)), q.write(() => insert.run(4)), q.write(() => insert.run(5))];
  await turn();
  await turn();
  assert.equal(count(), 2); // no commit while a sync is in flight
  disk.calls[0]!.finish();
  await Promise.all(first);
  await durable;
  assert.equal(q.durable(), undefined); // a read resuming here sees only synced commits
  assert.equal(settled, 2);
  await turn();
  assert.equal(count(), 5);
  assert.equal(disk.calls.length, 2);
  disk.calls[1]!.finish();
  await Promise.all(later);
  assert.deepEqual({ batches: q.stats.batches, syncs: q.stats.syncs, writes: q.stats.writes }, { batches: 2, syncs: 2, writes: 5 });
});

test('a failing write is rolled back alone; a failed sync rejects its writes and stops the queue', async () => {
  const { db, insert, count } = table();
  const disk = controlledSync();
  const q = new WriteQueue(db, disk.sync);
  const results = Promise.allSettled([q.write(() => insert.run(1)), q.write(() => insert.run(-1)), q.write(() => insert.run(2))]);
  await turn();
  disk.calls[0]!.finish();
  assert.deepEqual((await results).map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal(count(), 2);

  const lost = q.write(() => insert.run(3));
  await turn();
  const queued = q.write(() => insert.run(4));
  disk.calls[1]!.fail(new Error('EIO'));
  await assert.rejects(lost, /EIO/);
  await assert.rejects(queued, /EIO/);
  await assert.rejects(q.write(() => insert.run(5)), /EIO/);
  assert.equal(disk.calls.length, 2);
});

test('drain commits and syncs what is queued, after the sync in flight', async () => {
  const { db, insert, count } = table();
  let syncs = 0;
  const q = new WriteQueue(db, async () => void syncs++);
  const a = q.write(() => insert.run(1));
  await turn();
  const b = q.write(() => insert.run(2));
  await q.drain();
  await Promise.all([a, b]);
  assert.equal(count(), 2);
  assert.equal(syncs, 2);
  assert.equal(q.durable(), undefined);
});

test('a batch that changes nothing settles without a sync', async () => {
  const { db, insert, count } = table();
  const disk = controlledSync();
  const q = new WriteQueue(db, disk.sync);
  assert.equal(await q.write(() => count()), 0);
  assert.equal(disk.calls.length, 0);
  const written = q.write(() => insert.run(1));
  await turn();
  assert.equal(disk.calls.length, 1);
  disk.calls[0]!.finish();
  await written;
});
