/**
 * The storage port's contract, run unchanged against every backend (see sqlite/sqlite-store.test.ts).
 * Each test gets a fresh, isolated store from `factory`. Callbacks have their own part
 * (delivery-store.contract.ts).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { collect, INTERRUPTED, newJob } from './contract-fixtures.js';
import { adminContract } from './admin-store.contract.js';
import { deliveryContract } from './delivery-store.contract.js';
import { historyContract } from './history-store.contract.js';
import { jobGroupsContract } from './job-groups.contract.js';
import { messagingContract } from './messaging.contract.js';
import { notBeforeContract } from './not-before.contract.js';
import { pushContract } from './push-store.contract.js';
import type { JobError } from '../model.js';
import type { JobStore } from './port.js';

export { newJob };

export function jobStoreContract(name: string, factory: () => Promise<JobStore>): void {
  describe(`JobStore contract: ${name}`, () => {
    const opened: JobStore[] = [];
    const open = async () => {
      const s = await factory();
      opened.push(s);
      return s;
    };
    // Each test's stores are closed when it ends: a PostgreSQL store holds connections, and the server's
    // connection limit is shared with the other test files running alongside.
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    test('insert then get round-trips every field', async () => {
      const store = await open();
      const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'rojo=1' };
      const job = newJob({ owner: 'o1' }, { trace });
      const { job: stored, created } = await store.insertJob(job);
      assert.equal(created, true);
      assert.equal(stored.state, 'queued');
      const got = await store.getJob(job.id);
      assert.ok(got);
      assert.equal(got.request.method, 'POST');
      assert.deepEqual(got.request.headers, [['content-type', 'text/plain']]);
      assert.equal(Buffer.from(got.request.body!).toString(), 'hi');
      assert.equal(got.owner, 'o1');
      assert.equal(got.options.maxAttempts, 3);
      assert.deepEqual(got.options.trace, trace);
      assert.equal(await store.getJob('nope'), null);
    });

    test('an Idempotency-Key returns the existing job for the same owner only', async () => {
      const store = await open();
      const a = await store.insertJob(newJob({ idempotencyKey: 'k1', owner: 'alice' }));
      const again = await store.insertJob(newJob({ idempotencyKey: 'k1', owner: 'alice' }));
      assert.equal(again.created, false);
      assert.equal(again.job.id, a.job.id);
      const other = await store.insertJob(newJob({ idempotencyKey: 'k1', owner: 'bob' }));
      assert.equal(other.created, true);
      const anon1 = await store.insertJob(newJob({ idempotencyKey: 'k2' }));
      const anon2 = await store.insertJob(newJob({ idempotencyKey: 'k2' }));
      assert.equal(anon2.job.id, anon1.job.id);
    });

    test('inserts made together (one group commit) keep their own outcomes, repeated keys included', async () => {
      const store = await open();
      const keyed = (owner: string) => newJob({ idempotencyKey: 'same-turn', owner });
      const jobs = [newJob(), keyed('carol'), newJob(), keyed('carol'), keyed('dave'), newJob({ callbacks: [
        { id: 'cb-group-1', url: 'https://example.com/hook', method: 'POST', mode: 'notify', secret: null },
      ] })];
      const outcomes = await Promise.all(jobs.map((j) => store.insertJob(j)));
      assert.deepEqual(outcomes.map((o) => o.created), [true, true, true, false, true, true]);
      assert.equal(outcomes[3]!.job.id, outcomes[1]!.job.id, 'the repeat gets the first job of its key');
      for (const i of [0, 1, 2, 4, 5]) assert.equal((await store.getJob(jobs[i]!.id))?.state, 'queued');
      assert.equal(await store.getJob(jobs[3]!.id), null);
      assert.equal((await store.getDelivery('cb-group-1'))?.state, 'waiting');
    });

    test('claims give each job to one worker, with a fencing token', async () => {
      const store = await open();
      for (let i = 0; i < 5; i++) await store.insertJob(newJob());
      const now = Date.now();
      const [a, b] = await Promise.all([store.claimJobs('w1', 3, now, 1000), store.claimJobs('w2', 3, now, 1000)]);
      assert.equal(a.length + b.length, 5);
      const ids = new Set([...a, ...b].map((j) => j.id));
      assert.equal(ids.size, 5);
      for (const j of [...a, ...b]) {
        assert.equal(j.state, 'running');
        assert.equal(j.attempts, 1);
        assert.ok(j.leaseToken > 0);
      }
      assert.equal((await store.claimJobs('w3', 10, now, 1000)).length, 0);
      assert.equal(await store.countQueued(), 0);
    });

    test('jobs are not claimed before their runAt', async () => {
      const store = await open();
      const { job } = await store.insertJob(newJob());
      const [claimed] = await store.claimJobs('w', 1, Date.now(), 1000);
      assert.ok(claimed);
      assert.equal(await store.requeueJob(job.id, claimed.leaseToken, Date.now() + 60_000, Date.now()), true);
      assert.equal((await store.claimJobs('w', 1, Date.now(), 1000)).length, 0);
      assert.equal((await store.claimJobs('w', 1, Date.now() + 61_000, 1000)).length, 1);
    });

    test('completion is fenced by the lease token', async () => {
      const store = await open();
      const { job } = await store.insertJob(newJob({}, { retryable: true }));
      const [first] = await store.claimJobs('w1', 1, Date.now(), 10);
      assert.ok(first);
      // The lease lapses; the job is rescued and claimed again by another worker.
      const rescued = await store.rescueExpiredLeases(Date.now() + 100, 10, INTERRUPTED);
      assert.deepEqual(rescued.requeued, [job.id]);
      const [second] = await store.claimJobs('w2', 1, Date.now() + 100, 1000);
      assert.ok(second && second.leaseToken > first.leaseToken);
      const completion = { state: 'succeeded' as const, response: { status: 200, headers: [], size: 3, contentType: null }, error: null, finishedAt: Date.now() };
      assert.equal(await store.completeJob(job.id, first.leaseToken, { ...completion, body: Buffer.from('old') }, 1000), null);
      assert.equal(await store.appendResultChunk(job.id, first.leaseToken, 0, Buffer.from('old')), false);
      const done = await store.completeJob(job.id, second.leaseToken, { ...completion, body: Buffer.from('new') }, 1000);
      assert.equal(done?.job.state, 'succeeded');
      assert.deepEqual(done?.deliveries, []);
      assert.equal((await collect(store.readResult(job.id))).toString(), 'new');
      // A second completion with the same token does nothing.
      assert.equal(await store.completeJob(job.id, second.leaseToken, completion, 1000), null);
    });

    test('a job inserted with a lease is created running, its first attempt held: never claimed, rescued when it lapses', async () => {
      const store = await open();
      const now = Date.now();
      const { job, created } = await store.insertJob(newJob({ createdAt: now }, { retryable: true, maxAttempts: 2 }), { owner: 'w1', now, leaseMs: 50 });
      assert.equal(created, true);
      assert.equal(job.state, 'running');
      assert.equal(job.attempts, 1);
      assert.equal(job.leaseOwner, 'w1');
      assert.equal(job.leaseExpiresAt, now + 50);
      const stored = await store.getJob(job.id);
      assert.deepEqual(
        { state: stored?.state, attempts: stored?.attempts, leaseOwner: stored?.leaseOwner, leaseToken: stored?.leaseToken, version: stored?.version },
        { state: job.state, attempts: job.attempts, leaseOwner: job.leaseOwner, leaseToken: job.leaseToken, version: job.version },
      );
      assert.equal(await store.countQueued(), 0);
      assert.deepEqual(await store.claimJobs('w2', 10, now + 10, 1000), []);
      assert.equal(await store.renewLeases('w1', [job.id], now + 10, 50), 1);
      // The process holding it dies: the lease lapses, the job is handed back like any claimed one.
      const rescued = await store.rescueExpiredLeases(now + 100, 10, INTERRUPTED);
      assert.deepEqual(rescued.requeued, [job.id]);
      const [again] = await store.claimJobs('w2', 1, now + 100, 1000);
      assert.equal(again?.id, job.id);
      assert.equal(again?.attempts, 2);
      assert.ok(again!.leaseToken > job.leaseToken);
      // The first attempt's late answer is fenced off.
      const late = await store.completeJob(job.id, job.leaseToken, { state: 'succeeded', response: null, error: null, finishedAt: now + 200 }, 1000);
      assert.equal(late, null);
    });

    test('a lease on insert is ignored for an Idempotency-Key repeat: the original job comes back as it is', async () => {
      const store = await open();
      const first = await store.insertJob(newJob({ owner: 'o', idempotencyKey: 'k' }));
      const repeat = await store.insertJob(newJob({ owner: 'o', idempotencyKey: 'k' }), { owner: 'w', now: Date.now(), leaseMs: 1000 });
      assert.equal(repeat.created, false);
      assert.equal(repeat.job.id, first.job.id);
      assert.equal(repeat.job.state, 'queued');
      assert.equal((await store.getJob(first.job.id))?.leaseOwner, null);
    });

    test('a completion given the caller\'s copy of the job returns the same job as reading it back', async () => {
      const store = await open();
      const now = Date.now();
      const { job } = await store.insertJob(newJob({ owner: 'o', createdAt: now }), { owner: 'w', now, leaseMs: 10_000 });
      // Changed since the caller's copy was taken: the result must show the row, not the copy.
      await store.updateProgress(job.id, { percent: 40, message: 'nearly' }, now + 1);
      const response = { status: 201, headers: [['content-type', 'text/plain']] as Array<[string, string]>, size: 2, contentType: 'text/plain' };
      const done = await store.completeJob(job.id, job.leaseToken, { state: 'succeeded', response, body: Buffer.from('ok'), error: null, finishedAt: now + 2, job }, 60_000);
      const read = await store.getJob(job.id);
      assert.deepEqual({ ...done!.job, request: { ...done!.job.request, body: Buffer.from(done!.job.request.body!) } }, { ...read!, request: { ...read!.request, body: Buffer.from(read!.request.body!) } });
      assert.deepEqual(done!.job.progress, { percent: 40, message: 'nearly' });
      assert.equal(done!.job.state, 'succeeded');
    });

    test('rescue requeues retryable jobs and fails the others as interrupted', async () => {
      const store = await open();
      const safe = await store.insertJob(newJob({}, { retryable: true, maxAttempts: 2 }));
      const unsafe = await store.insertJob(newJob({}, { retryable: false }));
      await store.claimJobs('dead', 10, Date.now(), 10);
      const out = await store.rescueExpiredLeases(Date.now() + 50, 10, INTERRUPTED);
      assert.deepEqual(out.requeued, [safe.job.id]);
      assert.deepEqual(out.failed, [unsafe.job.id]);
      const failed = await store.getJob(unsafe.job.id);
      assert.equal(failed?.state, 'failed');
      assert.deepEqual(failed?.error, INTERRUPTED);
      assert.ok(failed?.expiresAt);
      // Out of attempts: the retryable one fails on its next rescue.
      await store.claimJobs('dead', 10, Date.now() + 50, 10);
      const out2 = await store.rescueExpiredLeases(Date.now() + 100, 10, INTERRUPTED);
      assert.deepEqual(out2.failed, [safe.job.id]);
    });

    test('a followed upstream monitor is kept under the lease, requeues any job on rescue, and a retry forgets it', async () => {
      const store = await open();
      const { job } = await store.insertJob(newJob({}, { retryable: false, maxAttempts: 1 }));
      const [claimed] = await store.claimJobs('dead', 1, Date.now(), 10);
      const monitor = { url: 'http://up.example/ops/1', convention: 'status-json' as const, cancel: 'http://up.example/ops/1/cancel', since: 5 };
      assert.equal(await store.setUpstreamMonitor(job.id, claimed!.leaseToken + 1, monitor), false, 'fenced by the lease token');
      assert.equal(await store.setUpstreamMonitor(job.id, claimed!.leaseToken, monitor), true);
      const out = await store.rescueExpiredLeases(Date.now() + 50, 10, INTERRUPTED);
      assert.deepEqual(out.requeued, [job.id], 'a POST out of attempts is requeued: its next attempt only polls');
      const [again] = await store.claimJobs('w', 1, Date.now() + 50, 1000);
      assert.deepEqual(again!.options.upstreamMonitor, monitor);
      assert.equal(again!.options.timeoutMs, 1000, 'the other options are kept');
      await store.completeJob(job.id, again!.leaseToken, { state: 'failed', response: null, error: INTERRUPTED, finishedAt: Date.now() }, 60_000);
      await store.retryJob(job.id, Date.now());
      const retried = await store.getJob(job.id);
      assert.equal(retried!.options.upstreamMonitor, undefined, 'a retry sends the request again');
      assert.equal(retried!.options.retentionMs, 60_000);
    });

    test('heartbeats keep leases alive; release hands them back', async () => {
      const store = await open();
      const { job } = await store.insertJob(newJob({}, { retryable: true }));
      await store.claimJobs('w', 1, Date.now(), 100);
      assert.equal(await store.renewLeases('w', [job.id], Date.now() + 80, 1000), 1);
      const none = await store.rescueExpiredLeases(Date.now() + 500, 10, INTERRUPTED);
      assert.deepEqual([none.requeued, none.failed], [[], []]);
      const released = await store.releaseLeases('w', Date.now(), INTERRUPTED);
      assert.deepEqual(released.requeued, [job.id]);
      assert.equal((await store.getJob(job.id))?.state, 'queued');
    });

    test('a heartbeat renews only the jobs named: an attempt that ended unrecorded lets its lease lapse', async () => {
      const store = await open();
      const now = Date.now();
      const live = await store.insertJob(newJob({ createdAt: now }, { retryable: true }), { owner: 'w', now, leaseMs: 100 });
      const ended = await store.insertJob(newJob({ createdAt: now }, { retryable: true }), { owner: 'w', now, leaseMs: 100 });
      const other = await store.insertJob(newJob({ createdAt: now }, { retryable: true }), { owner: 'w2', now, leaseMs: 100 });
      // Another owner's job named by mistake is not renewed either.
      assert.equal(await store.renewLeases('w', [live.job.id, other.job.id], now + 50, 1000), 1);
      assert.equal((await store.getJob(live.job.id))?.leaseExpiresAt, now + 1050);
      assert.equal((await store.getJob(ended.job.id))?.leaseExpiresAt, now + 100);
      assert.equal(await store.renewLeases('w', [], now + 60, 1000), 0);
      const rescued = await store.rescueExpiredLeases(now + 500, 10, INTERRUPTED);
      assert.deepEqual(rescued.requeued.sort(), [ended.job.id, other.job.id].sort());
    });

    test('large results are stored and read back in pieces', async () => {
      const store = await open();
      const { job } = await store.insertJob(newJob());
      const [claimed] = await store.claimJobs('w', 1, Date.now(), 10_000);
      const pieces = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000, i));
      for (const [i, p] of pieces.entries()) assert.ok(await store.appendResultChunk(job.id, claimed!.leaseToken, i, p));
      await store.completeJob(job.id, claimed!.leaseToken, { state: 'succeeded', response: { status: 200, headers: [], size: 40_000, contentType: null }, error: null, finishedAt: Date.now() }, 1000);
      const body = await collect(store.readResult(job.id));
      assert.deepEqual(body, Buffer.concat(pieces));
      // Byte ranges cut across pieces, inside one piece, at the very ends.
      const whole = Buffer.concat(pieces);
      for (const [start, end] of [[0, 0], [999, 1000], [1500, 4499], [0, 39_999], [39_999, 39_999], [12_345, 23_456]] as const) {
        assert.deepEqual(await collect(store.readResult(job.id, { start, end })), whole.subarray(start, end + 1), `${start}-${end}`);
      }
    });

    test('large request bodies are kept in pieces before their job commits, and read back in order', async () => {
      const store = await open();
      const job = newJob();
      const pieces = Array.from({ length: 20 }, (_, i) => Buffer.alloc(777, i + 1));
      for (const [i, p] of pieces.entries()) await store.appendRequestChunk(job.id, i, p, Date.now());
      const size = pieces.reduce((n, p) => n + p.byteLength, 0);
      await store.insertJob({ ...job, request: { ...job.request, body: null, bodySize: size } });
      const got = await store.getJob(job.id);
      assert.equal(got?.request.body, null);
      assert.equal(got?.request.bodySize, size);
      assert.deepEqual(await collect(store.readRequestBody(job.id)), Buffer.concat(pieces));
      const [claimed] = await store.claimJobs('w', 1, Date.now(), 10_000);
      assert.equal(claimed?.request.bodySize, size);
      // Pieces of an upload whose job never committed are swept once old; a live job's are kept.
      await store.appendRequestChunk('never-committed', 0, Buffer.from('x'), Date.now() - 2 * 3600_000);
      await store.sweep(Date.now(), 100, 1000);
      assert.equal((await collect(store.readRequestBody('never-committed'))).length, 0);
      assert.equal((await collect(store.readRequestBody(job.id))).length, size);
      // Deleting the job deletes its body.
      await store.deleteJob(job.id, Date.now(), Date.now() + 1000);
      assert.equal((await collect(store.readRequestBody(job.id))).length, 0);
    });

    test('cancel stops queued and running jobs, not finished ones', async () => {
      const store = await open();
      const q = await store.insertJob(newJob());
      const err: JobError = { code: 'canceled', message: 'canceled' };
      const canceled = await store.cancelJob(q.job.id, err, Date.now(), 1000);
      assert.equal(canceled?.state, 'canceled');
      assert.deepEqual(canceled?.error, err);
      assert.equal((await store.claimJobs('w', 5, Date.now(), 1000)).length, 0);
      const r = await store.insertJob(newJob());
      const [claimed] = await store.claimJobs('w', 1, Date.now(), 1000);
      assert.equal((await store.cancelJob(r.job.id, err, Date.now(), 1000))?.state, 'canceled');
      // The canceled attempt's late completion is dropped.
      assert.equal(await store.completeJob(r.job.id, claimed!.leaseToken, { state: 'succeeded', response: null, error: null, finishedAt: Date.now() }, 1000), null);
      assert.equal(await store.cancelJob('missing', err, Date.now(), 1000), null);
    });

    test('progress bumps the version', async () => {
      const store = await open();
      const { job } = await store.insertJob(newJob());
      const updated = await store.updateProgress(job.id, { current: 2, total: 75, message: 'working' }, Date.now());
      assert.ok(updated && updated.version > job.version);
      assert.deepEqual(updated.progress, { current: 2, total: 75, message: 'working' });
    });

    test('progress never touches a finished job (it cannot move it out of its terminal state)', async () => {
      const store = await open();
      const { job } = await store.insertJob(newJob());
      const [claimed] = await store.claimJobs('w', 1, Date.now(), 1000);
      const done = await store.completeJob(job.id, claimed!.leaseToken, { state: 'succeeded', response: { status: 204, headers: [], size: 0, contentType: null }, error: null, finishedAt: Date.now() }, 1000);
      assert.equal(await store.updateProgress(job.id, { percent: 10 }, Date.now()), null);
      const after = await store.getJob(job.id);
      assert.equal(after?.state, 'succeeded');
      assert.equal(after?.version, done?.job.version);
      assert.equal(after?.progress, null);
      const canceled = await store.insertJob(newJob());
      await store.cancelJob(canceled.job.id, { code: 'canceled', message: 'canceled' }, Date.now(), 1000);
      assert.equal(await store.updateProgress(canceled.job.id, { percent: 10 }, Date.now()), null);
      assert.equal(await store.updateProgress('missing', { percent: 10 }, Date.now()), null);
    });

    test('delete leaves a tombstone that keeps the owner; the sweeper purges expired jobs and old tombstones', async () => {
      const store = await open();
      const { job } = await store.insertJob(newJob({ owner: 'o1' }));
      const anonymous = await store.insertJob(newJob());
      const now = Date.now();
      assert.equal(await store.tombstoneOwner(job.id, now), undefined);
      assert.equal(await store.deleteJob(job.id, now, now + 1000), true);
      assert.equal(await store.deleteJob(anonymous.job.id, now, now + 1000), true);
      assert.equal(await store.getJob(job.id), null);
      assert.equal(await store.tombstoneOwner(job.id, now), 'o1');
      assert.equal(await store.tombstoneOwner(anonymous.job.id, now), null);
      assert.equal(await store.tombstoneOwner(job.id, now + 2000), undefined);
      assert.equal(await store.deleteJob(job.id, now, now + 1000), false);

      const old = await store.insertJob(newJob({ createdAt: now, owner: 'o2' }));
      const [c] = await store.claimJobs('w', 1, now, 1000);
      await store.completeJob(old.job.id, c!.leaseToken, { state: 'succeeded', response: { status: 204, headers: [], size: 0, contentType: null }, error: null, finishedAt: now }, 10);
      assert.equal(await store.sweep(now + 5, 100, 1000), 0);
      assert.equal(await store.sweep(now + 20, 100, 1000), 1);
      assert.equal(await store.getJob(old.job.id), null);
      assert.equal(await store.tombstoneOwner(old.job.id, now + 21), 'o2');
      await store.sweep(now + 5000, 100, 1000);
      assert.equal(await store.tombstoneOwner(old.job.id, now + 21), undefined);
    });

    test('jobs are listed newest first, by state, a page at a time', async () => {
      const store = await open();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const id = `${String(Date.now() + i).padStart(20, '0')}aaaaaaaaaa`;
        ids.push(id);
        await store.insertJob(newJob({ id }));
      }
      await store.cancelJob(ids[1]!, { code: 'canceled', message: 'c' }, Date.now(), 1000);
      const page1 = await store.listJobs({ limit: 3 });
      assert.deepEqual(page1.map((j) => j.id), ids.slice(2).reverse());
      const page2 = await store.listJobs({ limit: 3, after: page1.at(-1)!.id });
      assert.deepEqual(page2.map((j) => j.id), ids.slice(0, 2).reverse());
      assert.deepEqual((await store.listJobs({ limit: 10, state: 'canceled' })).map((j) => j.id), [ids[1]]);
      assert.equal((await store.listJobs({ limit: 10, state: 'queued' })).length, 4);
    });

    deliveryContract(open);
    adminContract(open);
    historyContract(open);
    notBeforeContract(open);
    jobGroupsContract(open);
    pushContract(open);
    messagingContract(open);

    test('secrets are created once and kept', async () => {
      const store = await open();
      const a = await store.secret('s', () => 'first');
      const b = await store.secret('s', () => 'second');
      assert.equal(a, 'first');
      assert.equal(b, 'first');
    });

    test('a secret can be read without creating it, replaced and forgotten', async () => {
      const store = await open();
      assert.equal(await store.readSecret('rotating'), undefined);
      assert.equal(await store.readSecret('rotating'), undefined, 'reading created nothing');
      await store.writeSecret('rotating', 'one');
      assert.equal(await store.readSecret('rotating'), 'one');
      await store.writeSecret('rotating', 'two');
      assert.equal(await store.readSecret('rotating'), 'two');
      assert.equal(await store.secret('rotating', () => 'three'), 'two', 'secret() keeps what writeSecret wrote');
      await store.writeSecret('rotating', null);
      assert.equal(await store.readSecret('rotating'), undefined);
      await store.writeSecret('rotating', null); // forgetting what is not there is fine
      assert.equal(await store.secret('rotating', () => 'four'), 'four');
    });
  });
}
