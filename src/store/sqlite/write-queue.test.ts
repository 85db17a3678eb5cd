import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep, setImmediate as turn } from 'node:timers/promises';
import { StorageFullError } from '../errors.js';
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

test('out of space (SQLITE_FULL): the write rejects alone with StorageFullError, rolled back, and succeeds once there is room', async () => {
  const { db, count } = table();
  db.exec('CREATE TABLE blobs (b BLOB NOT NULL)');
  const put = db.prepare('INSERT INTO blobs (b) VALUES (?)');
  const blobs = () => (db.prepare('SELECT count(*) AS n FROM blobs').get() as { n: number }).n;
  const q = new WriteQueue(db, async () => undefined);
  // max_page_count makes SQLite answer as a full disk does: "database or disk is full", SQLITE_FULL.
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages + 4}`);
  const big = () => put.run(Buffer.alloc(256 * 1024));
  const results = await Promise.allSettled([q.write(() => put.run(Buffer.alloc(10))), q.write(big), q.write(() => put.run(Buffer.alloc(10)))]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  const reason = (results[1] as PromiseRejectedResult).reason as StorageFullError;
  assert.ok(reason instanceof StorageFullError);
  assert.equal(reason.code, 'storage-full');
  assert.equal(blobs(), 2);
  db.pragma('max_page_count = 1000000');
  await q.write(big);
  assert.equal(blobs(), 3);
  assert.equal(count(), 0);
});

test('another connection holding the write lock: writes wait off the event loop, in order, in one commit; past lockWaitMs they reject busy; drain waits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'asyncgate-queue-'));
  try {
    const path = join(dir, 'q.db');
    const db = new Database(path, { timeout: 0 }); // busy_timeout 0, as the store sets it
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v INTEGER NOT NULL)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const other = new Database(path);
    const q = new WriteQueue(db, async () => undefined, 1000, 200);
    other.exec('BEGIN IMMEDIATE');
    const late = q.write(() => insert.run(1));
    while (q.stats.lockWaits === 0) await sleep(5); // the event loop runs while the write waits
    await assert.rejects(late, { code: 'SQLITE_BUSY' }); // waited past lockWaitMs

    const order: number[] = [];
    const waits = q.stats.lockWaits;
    const writes = [2, 3, 4].map((v) => q.write(() => insert.run(v)).then(() => order.push(v)));
    while (q.stats.lockWaits < waits + 2) await sleep(5);
    const batches = q.stats.batches;
    const drained = q.drain();
    other.exec('COMMIT');
    await drained;
    await Promise.all(writes);
    assert.deepEqual(order, [2, 3, 4]);
    assert.equal(q.stats.batches - batches, 1);
    assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY rowid').pluck().all(), [2, 3, 4]);
    other.close();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
