/**
 * The storage port's contract for jobs not runnable before a time (NewJob.runAt): run inside
 * `jobStoreContract`, so on every backend.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJob } from './contract-fixtures.js';
import type { JobStore } from './port.js';

export function notBeforeContract(open: () => Promise<JobStore>): void {
  test('not before: a job with a runAt to come stays queued, unclaimed until its time, then is claimed', async () => {
    const store = await open();
    const t = Date.now();
    const later = newJob({ createdAt: t, runAt: t + 1000 });
    const { job } = await store.insertJob(later);
    assert.equal(job.state, 'queued');
    assert.equal(job.runAt, t + 1000);
    assert.equal((await store.getJob(later.id))?.runAt, t + 1000);
    const now = newJob({ createdAt: t + 1 });
    await store.insertJob(now);
    assert.deepEqual((await store.claimJobs('w', 10, t + 2, 10_000)).map((j) => j.id), [now.id], 'only the job due now');
    assert.deepEqual(await store.claimJobs('w', 10, t + 999, 10_000), [], 'not a millisecond early');
    assert.equal(await store.countQueued(), 1, 'it counts as queued meanwhile');
    const [claimed, ...rest] = await store.claimJobs('w', 10, t + 1000, 10_000);
    assert.equal(rest.length, 0);
    assert.equal(claimed?.id, later.id);
    assert.equal(claimed.attempts, 1);
  });

  test('not before: a lease on insert starts a job that is due, and queues one whose runAt is still to come', async () => {
    const store = await open();
    const t = Date.now();
    const lease = { owner: 'w1', now: t, leaseMs: 10_000 };
    const later = newJob({ createdAt: t, runAt: t + 1000 });
    const { job, created } = await store.insertJob(later, lease);
    assert.equal(created, true);
    assert.deepEqual(
      { state: job.state, attempts: job.attempts, leaseOwner: job.leaseOwner, leaseExpiresAt: job.leaseExpiresAt, runAt: job.runAt },
      { state: 'queued', attempts: 0, leaseOwner: null, leaseExpiresAt: null, runAt: t + 1000 },
    );
    const stored = await store.getJob(later.id);
    assert.deepEqual(
      { state: stored?.state, attempts: stored?.attempts, leaseOwner: stored?.leaseOwner, leaseToken: stored?.leaseToken, runAt: stored?.runAt, version: stored?.version },
      { state: job.state, attempts: job.attempts, leaseOwner: job.leaseOwner, leaseToken: job.leaseToken, runAt: job.runAt, version: job.version },
      'the returned job is the committed one',
    );
    assert.deepEqual(await store.claimJobs('w2', 10, t + 999, 10_000), []);
    assert.equal((await store.claimJobs('w2', 10, t + 1000, 10_000))[0]?.id, later.id);

    // A runAt that has come by the lease's time: run at once, as without one.
    const due = await store.insertJob(newJob({ createdAt: t, runAt: t }), lease);
    assert.equal(due.job.state, 'running');
    assert.equal(due.job.runAt, t);
    assert.equal((await store.getJob(due.job.id))?.state, 'running');
  });
}
