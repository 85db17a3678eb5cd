/**
 * The storage port's contract for a job's history (its attempts and last progress reports, see history.ts):
 * run inside `jobStoreContract`, so on every backend.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INTERRUPTED, newJob } from './contract-fixtures.js';
import { ATTEMPTS_KEPT, PROGRESS_KEPT } from './history.js';
import type { JobStore } from './port.js';

const OK = { status: 200, headers: [], size: 0, contentType: null };

export function historyContract(open: () => Promise<JobStore>): void {
  test('history: each attempt with its start, end and outcome, and the progress reports in order', async () => {
    const store = await open();
    const t = Date.now();
    const { job } = await store.insertJob(newJob({ createdAt: t }, { retryable: true, maxAttempts: 5 }));
    assert.deepEqual(await store.historyOf(job.id), { attempts: [], progress: [] }, 'queued: nothing yet');

    // 1: a transient failure with the upstream's status, requeued.
    const [a1] = await store.claimJobs('w', 1, t + 10, 60_000);
    await store.updateProgress(job.id, { percent: 10, message: 'first' }, t + 15);
    assert.ok(await store.requeueJob(job.id, a1!.leaseToken, t + 20, t + 20, { code: 'upstream-http-error', status: 503 }));
    // 2: its lease lapses; the rescue requeues it as interrupted.
    const [a2] = await store.claimJobs('w', 1, t + 30, 10);
    await store.updateProgress(job.id, { current: 1, total: 4 }, t + 35);
    assert.deepEqual((await store.rescueExpiredLeases(t + 50, 10, INTERRUPTED)).requeued, [job.id]);
    // 3: succeeds.
    const [a3] = await store.claimJobs('w', 1, t + 60, 60_000);
    assert.equal(a2!.attempts, 2);
    await store.updateProgress(job.id, { current: 3, total: 4, percent: 75, message: 'third' }, t + 65);
    await store.completeJob(job.id, a3!.leaseToken, { state: 'succeeded', response: OK, error: null, finishedAt: t + 70 }, 60_000);

    const h = await store.historyOf(job.id);
    assert.deepEqual(h.attempts, [
      { n: 1, startedAt: t + 10, endedAt: t + 20, outcome: 'requeued', status: 503, code: 'upstream-http-error' },
      { n: 2, startedAt: t + 30, endedAt: t + 50, outcome: 'requeued', code: 'upstream-interrupted' },
      { n: 3, startedAt: t + 60, endedAt: t + 70, outcome: 'succeeded', status: 200 },
    ]);
    assert.deepEqual(h.progress, [
      { percent: 10, message: 'first', at: t + 15 },
      { current: 1, total: 4, at: t + 35 },
      { current: 3, total: 4, percent: 75, message: 'third', at: t + 65 },
    ]);
    assert.deepEqual(await store.historyOf('missing'), { attempts: [], progress: [] });
  });

  test('history: a direct start, a failure, a retry going on counting, a cancel, a release', async () => {
    const store = await open();
    const t = Date.now();
    const { job } = await store.insertJob(newJob({ createdAt: t }, { retryable: true }), { owner: 'w', now: t, leaseMs: 60_000 });
    const error = { code: 'upstream-timeout' as const, message: 'too slow' };
    await store.completeJob(job.id, job.leaseToken, { state: 'failed', response: null, error, finishedAt: t + 5 }, 60_000);
    assert.ok((await store.retryJob(job.id, t + 10))?.retried);
    const [again] = await store.claimJobs('w', 1, t + 20, 60_000);
    assert.equal(again!.attempts, 1, 'a retry starts the attempt budget over');
    await store.cancelJob(job.id, { code: 'canceled', message: 'c' }, t + 25, 60_000);
    // A queued job canceled had no attempt to end; one handed back at shutdown is requeued as interrupted.
    const queued = await store.insertJob(newJob({ createdAt: t }));
    await store.cancelJob(queued.job.id, { code: 'canceled', message: 'c' }, t + 30, 60_000);
    const held = await store.insertJob(newJob({ createdAt: t }, { retryable: true }), { owner: 'w2', now: t, leaseMs: 60_000 });
    await store.releaseLeases('w2', t + 40, INTERRUPTED);

    assert.deepEqual((await store.historyOf(job.id)).attempts, [
      { n: 1, startedAt: t, endedAt: t + 5, outcome: 'failed', code: 'upstream-timeout' },
      { n: 2, startedAt: t + 20, endedAt: t + 25, outcome: 'canceled', code: 'canceled' },
    ]);
    assert.deepEqual((await store.historyOf(queued.job.id)).attempts, []);
    assert.deepEqual((await store.historyOf(held.job.id)).attempts, [
      { n: 1, startedAt: t, endedAt: t + 40, outcome: 'requeued', code: 'upstream-interrupted' },
    ]);
  });

  test(`history: only the last ${PROGRESS_KEPT} progress reports and ${ATTEMPTS_KEPT} attempts are kept`, async () => {
    const store = await open();
    const t = Date.now();
    const { job } = await store.insertJob(newJob({ createdAt: t }, { retryable: true, maxAttempts: 100 }));
    const rounds = ATTEMPTS_KEPT + 3;
    for (let i = 1; i <= rounds; i++) {
      const [a] = await store.claimJobs('w', 1, t + i * 10, 60_000);
      assert.ok(a, `attempt ${i} claimed`);
      await store.updateProgress(job.id, { current: i }, t + i * 10 + 1);
      await store.requeueJob(job.id, a.leaseToken, t + (i + 1) * 10, t + i * 10 + 2, { code: 'upstream-unreachable' });
    }
    const h = await store.historyOf(job.id);
    assert.deepEqual(h.attempts.map((a) => a.n), Array.from({ length: ATTEMPTS_KEPT }, (_, i) => rounds - ATTEMPTS_KEPT + 1 + i));
    assert.deepEqual(h.attempts.at(-1), { n: rounds, startedAt: t + rounds * 10, endedAt: t + rounds * 10 + 2, outcome: 'requeued', code: 'upstream-unreachable' });
    assert.deepEqual(h.progress.map((p) => p.current), Array.from({ length: PROGRESS_KEPT }, (_, i) => rounds - PROGRESS_KEPT + 1 + i));
    assert.equal(h.progress.at(-1)?.at, t + rounds * 10 + 1);
  });
}
