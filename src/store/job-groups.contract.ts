/**
 * The storage port's contract for job groups (JobGroup, NewJob.group): run inside `jobStoreContract`, so on
 * every backend. Times are given, not read from the clock, so windows and due times are exact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job, NewJob } from '../model.js';
import { stampShard } from '../shared/shards.js';
import { newJob } from './contract-fixtures.js';
import type { JobStore } from './port.js';

/** A job of `group`, its id stamped for the shard the store puts the group in (as the engine's ids are). */
function grouped(store: JobStore, group: string, overrides: Partial<NewJob> = {}): NewJob {
  const job = newJob({ group, ...overrides });
  const shard = store.shardFor?.(null, null, group);
  return shard === undefined ? job : { ...job, id: stampShard(job.id, shard) };
}

async function insertAll(store: JobStore, jobs: NewJob[]): Promise<void> {
  await Promise.all(jobs.map((j) => store.insertJob(j)));
}

const ids = (jobs: readonly Job[]) => jobs.map((j) => j.id);
const claim = async (store: JobStore, now: number, limit = 10) => ids(await store.claimJobs('w', limit, now, 60_000));
const done = (store: JobStore, job: Job, at: number) =>
  store.completeJob(job.id, job.leaseToken, { state: 'succeeded', response: null, error: null, finishedAt: at }, 60_000);

export function jobGroupsContract(open: () => Promise<JobStore>): void {
  test('job groups: fifo, parallelism 1: one at a time in acceptance order, a later one due earlier waits its turn', async () => {
    const store = await open();
    const t = Date.now();
    await store.putGroup({ key: 'q1', parallelism: 1, fifo: true, paused: false }, t);
    const a = grouped(store, 'q1', { createdAt: t, runAt: t + 50 });
    const b = grouped(store, 'q1', { createdAt: t });
    const c = grouped(store, 'q1', { createdAt: t });
    for (const j of [a, b, c]) await store.insertJob(j);
    assert.deepEqual(await claim(store, t + 10), [], 'the head is not due yet, and the others wait behind it');
    const [first] = await store.claimJobs('w', 10, t + 100, 60_000);
    assert.equal(first?.id, a.id);
    assert.equal(first.group, 'q1');
    assert.deepEqual(await claim(store, t + 100), [], 'the head runs: the rest wait');
    await done(store, first, t + 101);
    const [second] = await store.claimJobs('w', 10, t + 102, 60_000);
    assert.equal(second?.id, b.id);
    // Requeued with a delay, it stays the head: the one behind it waits for it.
    assert.equal(await store.requeueJob(b.id, second.leaseToken, t + 10_000, t + 103), true);
    assert.deepEqual(await claim(store, t + 200), [], 'a head waiting for its retry holds back the next');
    assert.deepEqual(await claim(store, t + 10_000), [b.id]);
  });

  test('job groups: fifo, parallelism 2: the first two unfinished by id', async () => {
    const store = await open();
    const t = Date.now();
    await store.putGroup({ key: 'q2', parallelism: 2, fifo: true, paused: false }, t);
    const jobs = Array.from({ length: 5 }, () => grouped(store, 'q2', { createdAt: t }));
    for (const j of jobs) await store.insertJob(j);
    const got = await store.claimJobs('w', 10, t + 1, 60_000);
    assert.deepEqual(ids(got), [jobs[0]!.id, jobs[1]!.id]);
    assert.deepEqual(await claim(store, t + 2), []);
    await done(store, got[1]!, t + 3);
    assert.deepEqual(await claim(store, t + 4), [jobs[2]!.id], 'one freed: the next in order');
    // The head waits for its retry: it still counts among the first two, so only one runs.
    assert.equal(await store.requeueJob(jobs[0]!.id, got[0]!.leaseToken, t + 1000, t + 5), true);
    assert.deepEqual(await claim(store, t + 6), []);
    assert.deepEqual(await claim(store, t + 1000), [jobs[0]!.id]);
  });

  test('job groups: not fifo: at most parallelism at once, the longest due first', async () => {
    const store = await open();
    const t = Date.now();
    await store.putGroup({ key: 'fc', parallelism: 2, fifo: false, paused: false }, t);
    const late = grouped(store, 'fc', { createdAt: t, runAt: t + 500 });
    const x = grouped(store, 'fc', { createdAt: t, runAt: t + 20 });
    const y = grouped(store, 'fc', { createdAt: t, runAt: t + 10 });
    const z = grouped(store, 'fc', { createdAt: t, runAt: t + 30 });
    for (const j of [late, x, y, z]) await store.insertJob(j);
    const got = await store.claimJobs('w', 10, t + 100, 60_000);
    assert.deepEqual(ids(got), [y.id, x.id], 'due order, not acceptance order; a job not due is passed over');
    assert.deepEqual(await claim(store, t + 100), []);
    await done(store, got[0]!, t + 101);
    assert.deepEqual(await claim(store, t + 600, 1), [z.id]);
    assert.deepEqual(await claim(store, t + 600), [], 'two run');
  });

  test('job groups: a rate: at most that many claims per period', async () => {
    const store = await open();
    const t = Date.now();
    await store.putGroup({ key: 'rated', parallelism: 100, fifo: false, rate: 2, periodMs: 1000, paused: false }, t);
    for (let i = 0; i < 5; i++) await store.insertJob(grouped(store, 'rated', { createdAt: t }));
    const first = await store.claimJobs('w', 10, t + 1, 60_000);
    assert.equal(first.length, 2);
    for (const j of first) await done(store, j, t + 2);
    assert.deepEqual(await claim(store, t + 500), [], 'the window is used up, though none run');
    assert.equal((await claim(store, t + 1001)).length, 2, 'a new window');
    assert.equal((await claim(store, t + 1500)).length, 0);
    assert.equal((await claim(store, t + 2001)).length, 1, 'the last one');
    const record = await store.group('rated');
    assert.equal(record?.rate, 2);
    assert.equal(record?.periodMs, 1000);
  });

  test('job groups: a paused group starts nothing; resumed, it does', async () => {
    const store = await open();
    const t = Date.now();
    await store.putGroup({ key: 'p', parallelism: 3, fifo: true, paused: true }, t);
    for (let i = 0; i < 2; i++) await store.insertJob(grouped(store, 'p', { createdAt: t }));
    assert.deepEqual(await claim(store, t + 1), []);
    assert.equal((await store.group('p'))?.paused, true);
    await store.putGroup({ key: 'p', parallelism: 3, fifo: true, paused: false }, t + 2);
    assert.equal((await claim(store, t + 3)).length, 2);
  });

  test('job groups: a group without a record runs one at a time, in order; a grouped job is queued even with a lease', async () => {
    const store = await open();
    const t = Date.now();
    const jobs = Array.from({ length: 3 }, () => grouped(store, 'nobody-set-me', { createdAt: t }));
    const first = await store.insertJob(jobs[0]!, { owner: 'w', now: t, leaseMs: 10_000 });
    assert.equal(first.job.state, 'queued', 'never run at once by the accepting process');
    assert.equal(first.job.group, 'nobody-set-me');
    for (const j of jobs.slice(1)) await store.insertJob(j);
    assert.equal(await store.group('nobody-set-me'), null);
    for (const j of jobs) {
      const got = await store.claimJobs('w', 10, t + 1, 60_000);
      assert.deepEqual(ids(got), [j.id]);
      await done(store, got[0]!, t + 1);
    }
    const plain = await store.insertJob(newJob({ createdAt: t }));
    assert.equal('group' in plain.job, false, 'no group: absent');
    assert.equal('group' in (await store.getJob(plain.job.id))!, false);
    assert.equal((await store.getJob(jobs[0]!.id))?.group, 'nobody-set-me');
  });

  test('job groups: records: lag counts queued and running jobs, groups by prefix, delete, and the admin filter', async () => {
    const store = await open();
    const t = Date.now();
    await store.putGroup({ key: 'owner-a/q/one', parallelism: 1, fifo: true, paused: false }, t);
    await store.putGroup({ key: 'owner-a/q/two', parallelism: 4, fifo: false, paused: false }, t + 1);
    await store.putGroup({ key: 'owner-b/q/one', parallelism: 1, fifo: true, paused: false }, t);
    const one = Array.from({ length: 3 }, () => grouped(store, 'owner-a/q/one', { createdAt: t }));
    await insertAll(store, one);
    await store.insertJob(newJob({ createdAt: t + 1000 })); // not due in this test: not claimed
    let rec = await store.group('owner-a/q/one');
    assert.deepEqual(
      { key: rec?.key, parallelism: rec?.parallelism, fifo: rec?.fifo, paused: rec?.paused, lag: rec?.lag, createdAt: rec?.createdAt, rate: rec?.rate },
      { key: 'owner-a/q/one', parallelism: 1, fifo: true, paused: false, lag: 3, createdAt: t, rate: undefined },
    );
    const [running] = await store.claimJobs('w', 10, t + 1, 60_000);
    assert.equal((await store.group('owner-a/q/one'))?.lag, 3, 'running counts');
    await done(store, running!, t + 2);
    assert.equal((await store.group('owner-a/q/one'))?.lag, 2, 'finished does not');
    // Updated in place: created stays, updated moves.
    await store.putGroup({ key: 'owner-a/q/two', parallelism: 8, fifo: false, paused: true }, t + 5);
    rec = await store.group('owner-a/q/two');
    assert.deepEqual([rec?.parallelism, rec?.paused, rec?.createdAt, rec?.updatedAt, rec?.lag], [8, true, t + 1, t + 5, 0]);
    assert.deepEqual((await store.groups('owner-a/')).map((g) => g.key), ['owner-a/q/one', 'owner-a/q/two']);
    assert.deepEqual((await store.groups('')).map((g) => g.key), ['owner-a/q/one', 'owner-a/q/two', 'owner-b/q/one']);
    assert.deepEqual(await store.groups('owner-c/'), []);
    // The filter: list and count.
    const listed = await store.listJobs({ group: 'owner-a/q/one', limit: 10 });
    assert.deepEqual(listed.map((j) => j.id).sort(), one.map((j) => j.id).sort());
    assert.equal(await store.countJobs({ group: 'owner-a/q/one', state: 'queued' }, 100), 2);
    assert.equal(await store.countJobs({ group: 'owner-b/q/one' }, 100), 0);
    // Deleted: the record goes, its jobs stay and run as a group without one (one at a time).
    assert.equal(await store.deleteGroup('owner-a/q/one'), true);
    assert.equal(await store.deleteGroup('owner-a/q/one'), false);
    assert.equal(await store.group('owner-a/q/one'), null);
    assert.equal((await store.groups('owner-a/')).length, 1);
    assert.deepEqual(await claim(store, t + 10), [one[1]!.id]);
  });

  test('job groups: ungrouped jobs are claimed as before, never behind a blocked group, and every queued job counts', async () => {
    const store = await open();
    const t = Date.now() - 10_000;
    await store.putGroup({ key: 'blocked', parallelism: 1, fifo: true, paused: false }, t);
    const head = grouped(store, 'blocked', { createdAt: t });
    await store.insertJob(head);
    const [running] = await store.claimJobs('w', 1, t + 1, 600_000);
    assert.equal(running?.id, head.id);
    await insertAll(store, Array.from({ length: 1000 }, () => grouped(store, 'blocked', { createdAt: t + 2 })));
    await store.putGroup({ key: 'paused', parallelism: 5, fifo: false, paused: true }, t);
    await insertAll(store, Array.from({ length: 20 }, () => grouped(store, 'paused', { createdAt: t + 3 })));
    const free = [newJob({ createdAt: t + 4 }), newJob({ createdAt: t + 5 })];
    for (const j of free) await store.insertJob(j);
    const started = Date.now();
    assert.deepEqual(await claim(store, t + 100), free.map((j) => j.id), 'both ungrouped jobs, in due order');
    assert.deepEqual(await claim(store, t + 100), []);
    assert.ok(Date.now() - started < 1000, 'the blocked backlog is not read');
    assert.equal(await store.countQueued(), 1020);
    const gauges = await store.gauges();
    assert.equal(gauges.jobs.queued, 1020);
    assert.equal(gauges.oldestQueuedAt, t + 2);
    const overview = await store.overview(t - 3600_000, t - 3600_000, t);
    assert.equal(overview.jobsByState.queued, 1020);
    assert.equal(overview.oldestQueuedAt, t + 2);
    assert.equal((await store.group('blocked'))?.lag, 1001);
  });
}
