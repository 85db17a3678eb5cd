/**
 * The sharded SQLite store: the whole storage contract against four shards one worker owns, then two workers
 * (two stores in this process, their messages passed as the cluster's primary would) sharing one set of
 * shard files: each reads the other's jobs, a key is unique across both, a watch on the other's job hears
 * its changes, a cancel reaches whoever runs the job, and a stale queue is taken over.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stampShard } from '../../shared/shards.js';
import { INTERRUPTED, newJob } from '../contract-fixtures.js';
import { jobStoreContract } from '../job-store.contract.js';
import type { StoreChange } from '../port.js';
import { SqliteJobStore } from '../sqlite/sqlite-store.js';
import { NO_PEERS, type PeerMessage, type Peers } from './peers.js';
import { existingShards, prepareShards, shardPath } from './shard-files.js';
import { ShardedJobStore } from './sharded-store.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-sharded-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

jobStoreContract('sqlite, 4 shards', async () => new ShardedJobStore({ path: join(dir, `contract-${n++}.db`), shards: 4, peers: NO_PEERS, staleAfterMs: 10_000 }));

/** Peers for `count` workers in this process: a message arrives on a later turn, as over IPC. */
function linkedPeers(count: number): Peers[] {
  const receivers: Array<Array<(m: PeerMessage) => void>> = Array.from({ length: count }, () => []);
  const deliver = (to: number, m: PeerMessage) => setImmediate(() => receivers[to]!.forEach((fn) => fn(structuredClone(m))));
  return receivers.map((mine, index) => ({
    index,
    workers: count,
    send: (to, m) => (to === 'others' ? receivers.forEach((_, i) => i !== index && deliver(i, m)) : deliver(to, m)),
    onMessage: (fn) => void mine.push(fn),
  }));
}

async function twoWorkers(name: string, staleAfterMs = 10_000): Promise<[ShardedJobStore, ShardedJobStore]> {
  const path = join(dir, `${name}.db`);
  const shards = await prepareShards(path, 2);
  const [p0, p1] = linkedPeers(2);
  return [new ShardedJobStore({ path, shards, peers: p0!, staleAfterMs }), new ShardedJobStore({ path, shards, peers: p1!, staleAfterMs })];
}

function changesOf(store: ShardedJobStore): StoreChange[] {
  const seen: StoreChange[] = [];
  store.listen((c) => seen.push(c));
  return seen;
}

async function until(fn: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('sharded store: shard files', () => {
  test('shard 0 is the file itself, the others are named next to it; a single-process database is shard 0', async () => {
    assert.equal(shardPath('/a/jobs.db', 0), '/a/jobs.db');
    assert.equal(shardPath('/a/jobs.db', 3), '/a/jobs.shard3.db');
    assert.equal(shardPath('/a.b/jobs', 1), '/a.b/jobs.shard1');
    const path = join(dir, 'legacy.db');
    const single = new SqliteJobStore({ path });
    const { job } = await single.insertJob(newJob({ id: stampShard(newJob().id, 0).slice(0, -1) + 'W' })); // an old id's last character
    await single.close();
    assert.equal(existingShards(path), 1);
    assert.equal(await prepareShards(path, 2), 2);
    assert.ok(existsSync(shardPath(path, 1)));
    const sharded = new ShardedJobStore({ path, shards: 2, peers: NO_PEERS, staleAfterMs: 10_000 });
    assert.equal((await sharded.getJob(job.id))?.id, job.id, 'found in shard 0 though its last character names shard 32');
    await sharded.close();
    // Fewer workers later: no shard is left behind.
    assert.equal(await prepareShards(path, 1), 2);
  });
});

describe('sharded store: two workers', () => {
  test('each puts its jobs in its own shard and reads the other\'s; lists merge newest first', async () => {
    const [a, b] = await twoWorkers('read');
    const ja = newJob({ id: stampShard(newJob().id, a.shardFor(null, null)) });
    const jb = newJob({ id: stampShard(newJob().id, b.shardFor(null, null)), createdAt: ja.createdAt + 1 });
    await a.insertJob(ja);
    await b.insertJob(jb);
    assert.equal((await b.getJob(ja.id))?.id, ja.id);
    assert.equal((await a.getJob(jb.id))?.id, jb.id);
    assert.equal((await a.shards[0]!.getJob(ja.id))?.id, ja.id, 'in shard 0');
    assert.equal(await a.shards[1]!.getJob(ja.id), null, 'not in shard 1');
    const listed = (await a.listJobs({ limit: 10 })).map((j) => j.id);
    assert.deepEqual(listed, [ja.id, jb.id].sort().reverse());
    assert.equal(await b.countJobs({}, 100), 2);
    assert.equal(await b.countQueued(), 2);
    // Each claims only from its own shard.
    assert.deepEqual((await a.claimJobs('wa', 10, Date.now(), 10_000)).map((j) => j.id), [ja.id]);
    assert.deepEqual((await b.claimJobs('wb', 10, Date.now(), 10_000)).map((j) => j.id), [jb.id]);
    await Promise.all([a.close(), b.close()]);
  });

  test('an Idempotency-Key is unique across workers: both repeats get the one job', async () => {
    const [a, b] = await twoWorkers('keys');
    const home = a.shardFor('owner-1', 'key-1');
    assert.equal(b.shardFor('owner-1', 'key-1'), home, 'the same shard whichever worker asks');
    const make = () => newJob({ id: stampShard(newJob().id, home), owner: 'owner-1', idempotencyKey: 'key-1' });
    const [x, y] = await Promise.all([a.insertJob(make()), b.insertJob(make())]);
    assert.equal(x.job.id, y.job.id);
    assert.deepEqual([x.created, y.created].sort(), [false, true]);
    assert.equal(await a.countJobs({}, 10), 1);
    await Promise.all([a.close(), b.close()]);
  });

  test('a watch on another worker\'s job hears its changes, and a cancel reaches the worker running it', async () => {
    const [a, b] = await twoWorkers('watch');
    const heardByB = changesOf(b);
    const heardByA = changesOf(a);
    const { job } = await a.insertJob(newJob({ id: stampShard(newJob().id, 0) }), { owner: 'wa', now: Date.now(), leaseMs: 10_000 });
    const stop = b.watch(job.id);
    // The owner answers a watch with the job's current state at once.
    await until(() => heardByB.some((c) => c.kind === 'job' && c.id === job.id && c.state === 'running'));
    const done = await a.completeJob(job.id, job.leaseToken!, { state: 'succeeded', response: null, error: null, finishedAt: Date.now() }, 60_000);
    assert.ok(done);
    await until(() => heardByB.some((c) => c.kind === 'job' && c.id === job.id && c.state === 'succeeded'));
    stop();
    await sleep(20);

    // B cancels a job A runs: it writes in A's shard, and A hears of it (so A would abort the attempt).
    const { job: other } = await a.insertJob(newJob({ id: stampShard(newJob().id, 0) }), { owner: 'wa', now: Date.now(), leaseMs: 10_000 });
    const canceled = await b.cancelJob(other.id, { code: 'canceled', message: 'canceled' }, Date.now(), 60_000);
    assert.equal(canceled?.state, 'canceled');
    await until(() => heardByA.some((c) => c.kind === 'job' && c.id === other.id && c.state === 'canceled'));
    await Promise.all([a.close(), b.close()]);
  });

  test('the admin event stream\'s watch ("*") hears every job of the other worker', async () => {
    const [a, b] = await twoWorkers('everything');
    const heardByB = changesOf(b);
    b.watch('*');
    await sleep(20);
    const { job } = await a.insertJob(newJob({ id: stampShard(newJob().id, 0) }));
    await until(() => heardByB.some((c) => c.kind === 'job' && c.id === job.id));
    await Promise.all([a.close(), b.close()]);
  });

  test('a queue its owner left waiting past the lease is taken over; a fresh one is not', async () => {
    const [a, b] = await twoWorkers('stale', 1_000);
    const now = Date.now();
    const fresh = newJob({ id: stampShard(newJob().id, 1), createdAt: now });
    const old = newJob({ id: stampShard(newJob().id, 1), createdAt: now - 5_000 });
    await b.insertJob(fresh);
    await b.insertJob(old);
    const taken = await a.claimJobs('wa', 10, now, 10_000);
    assert.deepEqual(taken.map((j) => j.id), [old.id]);
    assert.equal(taken[0]!.leaseOwner, 'wa');
    assert.ok(taken[0]!.leaseExpiresAt! >= now + 10_000, 'a full lease from now, not from the cutoff');
    await Promise.all([a.close(), b.close()]);
  });

  test('a group lives in one shard; its stale queue is taken over within its bounds, and a group held by a running job is left alone', async () => {
    const [a, b] = await twoWorkers('stale-group', 1_000);
    const now = Date.now();
    // A group whose shard is worker 1's, whichever worker is asked.
    const key = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'].find((k) => a.shardFor(null, null, k) === 1)!;
    assert.equal(b.shardFor(null, 'some-key', key), 1, 'the group wins over an Idempotency-Key');
    await a.putGroup({ key, parallelism: 1, fifo: true, paused: false }, now);
    assert.equal((await b.group(key))?.parallelism, 1, 'its record is where its claim reads it');
    const jobs = [0, 1, 2].map(() => newJob({ id: stampShard(newJob().id, 1), group: key, createdAt: now - 5_000 }));
    for (const j of jobs) await a.insertJob(j);
    const taken = await a.claimJobs('wa', 10, now, 10_000);
    assert.deepEqual(taken.map((j) => j.id), [jobs[0]!.id], 'one at a time, the head first');
    await sleep(1_050); // the next look at others' queues
    assert.deepEqual(await a.claimJobs('wa', 10, Date.now(), 10_000), [], 'held back by its running head');
    await Promise.all([a.close(), b.close()]);
  });

  test('a worker that died: its leases in every shard are handed back by the others', async () => {
    const [a, b] = await twoWorkers('dead');
    const retryable = newJob({ id: stampShard(newJob().id, 1) }, { retryable: true });
    // Worker A ran a job of B's shard (a keyed one lands wherever its key hashes) and then died.
    await a.insertJob(retryable, { owner: 'wa', now: Date.now(), leaseMs: 60_000 });
    const out = await b.releaseLeases('wa', Date.now(), INTERRUPTED);
    assert.deepEqual(out.requeued, [retryable.id]);
    assert.equal((await b.getJob(retryable.id))?.state, 'queued');
    await Promise.all([a.close(), b.close()]);
  });

  test('deliveries page newest first across shards, `after` a delivery of either shard', async () => {
    const [a, b] = await twoWorkers('deliveries');
    const t = Date.now();
    const cb = (id: string) => [{ id, url: 'https://r.example/cb', method: 'POST' as const, mode: 'notify' as const, secret: null }];
    for (let i = 0; i < 6; i++) {
      const shard = i % 2;
      await (shard === 0 ? a : b).insertJob(newJob({ id: stampShard(newJob().id, shard), createdAt: t + i, callbacks: cb(`msg_${i}_${shard}`) }));
    }
    const page1 = (await b.listDeliveries({ limit: 4 })).map((d) => d.id);
    assert.deepEqual(page1, ['msg_5_1', 'msg_4_0', 'msg_3_1', 'msg_2_0']);
    const page2 = (await a.listDeliveries({ limit: 4, after: page1.at(-1)! })).map((d) => d.id);
    assert.deepEqual(page2, ['msg_1_1', 'msg_0_0']);
    assert.equal((await a.getDelivery('msg_5_1'))?.jobId.endsWith('1'), true, 'found in its shard, whatever its id says');
    await Promise.all([a.close(), b.close()]);
  });
});
