/**
 * The storage port's contract for callbacks (deliveries): run inside `jobStoreContract`, so on every backend.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { INTERRUPTED, newJob } from './contract-fixtures.js';
import type { JobStore } from './port.js';

export function deliveryContract(open: () => Promise<JobStore>): void {
  const cb = (url: string, id = `msg_${randomBytes(8).toString('hex')}`) => ({ id, url, method: 'POST' as const, mode: 'response' as const, secret: null });
  const finish = async (store: JobStore, id: string) => {
    const [c] = await store.claimJobs('w', 1, Date.now() + 1, 10_000);
    assert.equal(c?.id, id);
    return store.completeJob(id, c.leaseToken, { state: 'succeeded', response: { status: 200, headers: [], size: 0, contentType: null }, error: null, finishedAt: Date.now() }, 60_000);
  };

  test('callbacks wait for their job, then become due in the same commit as its completion', async () => {
    const store = await open();
    const { job } = await store.insertJob(newJob({ callbacks: [cb('https://a.example/cb', 'msg_a'), cb('https://b.example/cb', 'msg_b')] }));
    assert.deepEqual((await store.claimDeliveries('d', 10, Date.now(), 1000, 4, {})).length, 0);
    assert.equal((await store.getDelivery('msg_a'))?.state, 'waiting');
    await finish(store, job.id);
    const claimed = await store.claimDeliveries('d', 10, Date.now() + 1, 1000, 4, {});
    assert.deepEqual(claimed.map((d) => d.id).sort(), ['msg_a', 'msg_b']);
    assert.ok(claimed.every((d) => d.state === 'delivering' && d.host.endsWith('.example')));
  });

  test('a completion can take its callbacks: leased in the same commit, per host up to the slots given, the rest due', async () => {
    const store = await open();
    const specs = [cb('https://a.example/1', 'msg_l1'), cb('https://a.example/2', 'msg_l2'), cb('https://b.example/1', 'msg_l3'), cb('https://c.example/1', 'msg_l4')];
    const now = Date.now();
    const { job } = await store.insertJob(newJob({ callbacks: specs, createdAt: now }), { owner: 'w', now, leaseMs: 10_000 });
    const done = await store.completeJob(
      job.id,
      job.leaseToken,
      {
        state: 'succeeded',
        response: { status: 200, headers: [], size: 2, contentType: null },
        body: Buffer.from('ok'),
        error: null,
        finishedAt: now + 5,
        leaseDeliveries: { owner: 'd1', leaseMs: 1000, hosts: { 'a.example': 1, 'b.example': 1, 'c.example': 0 } },
      },
      60_000,
    );
    assert.equal(done?.job.state, 'succeeded');
    assert.deepEqual(done?.deliveries.map((d) => d.id).sort(), ['msg_l1', 'msg_l3']);
    for (const d of done!.deliveries) {
      assert.equal(d.state, 'delivering');
      assert.equal(d.leaseOwner, 'd1');
      assert.equal(d.jobId, job.id);
    }
    // The ones without a slot are due for anyone; the leased ones are not claimable.
    const others = await store.claimDeliveries('d2', 10, now + 10, 60_000, 4, {});
    assert.deepEqual(others.map((d) => d.id).sort(), ['msg_l2', 'msg_l4']);
    // The leased delivery's attempt records under the lease the completion returned.
    const leased = done!.deliveries[0]!;
    assert.equal(await store.recordAttempt({ deliveryId: leased.id, n: 1, at: now + 6, status: 200, latencyMs: 1, error: null, snippet: null }, leased.leaseToken, { state: 'delivered' }), true);
    assert.equal((await store.getDelivery(leased.id))?.state, 'delivered');
    // A lapsed lease is rescued like a claimed one (same webhook-id, at least once).
    const unrecorded = done!.deliveries[1]!;
    const rescued = await store.rescueExpiredLeases(now + 2000, 10, INTERRUPTED);
    assert.equal(rescued.deliveries, 1);
    const [again] = await store.claimDeliveries('d3', 10, now + 2000, 1000, 4, {});
    assert.equal(again?.id, unrecorded.id);
  });

  test('cancel and interrupted failure also release callbacks; registering on a finished job is due at once', async () => {
    const store = await open();
    const a = await store.insertJob(newJob({ callbacks: [cb('https://a.example/cb', 'msg_c1')] }));
    await store.cancelJob(a.job.id, { code: 'canceled', message: 'c' }, Date.now(), 1000);
    assert.equal((await store.getDelivery('msg_c1'))?.state, 'pending');
    const b = await store.insertJob(newJob({ callbacks: [cb('https://a.example/cb', 'msg_c2')] }));
    await store.claimJobs('dead', 5, Date.now() + 1, 1);
    await store.rescueExpiredLeases(Date.now() + 100, 10, INTERRUPTED);
    assert.equal((await store.getDelivery('msg_c2'))?.state, 'pending');
    const late = await store.addCallback(b.job.id, cb('https://late.example/cb'), 'msg_late', Date.now());
    assert.equal(late?.state, 'pending');
    assert.equal(await store.addCallback('no-such-job', cb('https://x.example/cb'), 'msg_none', Date.now()), null);
  });

  test('delivery claims: first attempts before retries, per-host limit', async () => {
    const store = await open();
    const specs = [
      ...Array.from({ length: 5 }, (_, i) => cb('https://slow.example/cb', `msg_s${i}`)),
      cb('https://fast.example/cb', 'msg_f0'),
    ];
    const { job } = await store.insertJob(newJob({ callbacks: specs }));
    await finish(store, job.id);
    const now = Date.now() + 10;
    const first = await store.claimDeliveries('d', 10, now, 1000, 2, { 'slow.example': 1 });
    assert.deepEqual(first.map((d) => d.host).sort(), ['fast.example', 'slow.example']);
    // The claimed slow one fails and is due again at once: a retry (round 1) comes after fresh ones.
    const slow = first.find((d) => d.host === 'slow.example')!;
    await store.recordAttempt({ deliveryId: slow.id, n: 1, at: now, status: 500, latencyMs: 3, error: null, snippet: 'oops' }, slow.leaseToken, { state: 'pending', nextAttemptAt: now });
    const next = await store.claimDeliveries('d', 1, now + 1, 1000, 10, {});
    assert.notEqual(next[0]?.id, slow.id);
    assert.equal(next[0]?.round, 0);
  });

  test('delivery claims: a host at its limit never holds up the others, however long its queue', async () => {
    const store = await open();
    const specs = [
      ...Array.from({ length: 40 }, (_, i) => cb('https://busy.example/cb', `msg_b${i}`)),
      cb('https://quiet.example/cb', 'msg_q0'),
    ];
    const { job } = await store.insertJob(newJob({ callbacks: specs }));
    await finish(store, job.id);
    const now = Date.now() + 10;
    // busy.example is at its limit (3 of 3 in flight here): only quiet.example's one is taken.
    const first = await store.claimDeliveries('d', 10, now, 1000, 3, { 'busy.example': 3 });
    assert.deepEqual(first.map((d) => d.id), ['msg_q0']);
    // With 1 slot free, exactly one of busy.example's is taken.
    const second = await store.claimDeliveries('d', 10, now, 1000, 3, { 'busy.example': 2, 'quiet.example': 1 });
    assert.deepEqual(second.map((d) => d.host), ['busy.example']);
    // Without anything in flight, perHost bounds one claim too.
    const third = await store.claimDeliveries('d', 10, now, 1000, 3, {});
    assert.equal(third.length, 3);
    assert.equal((await store.listDeliveries({ state: 'pending', limit: 100 })).length, 40 - 4);
  });

  test('delivery claims: the longest due go first, across hosts', async () => {
    const store = await open();
    const t0 = Date.now();
    // Finished in the order c, a, b (their callbacks fall due in that order); hosts sort a, b, c.
    for (const [host, at] of [['c.example', t0 - 300], ['a.example', t0 - 200], ['b.example', t0 - 100]] as const) {
      const { job } = await store.insertJob(newJob({ callbacks: [cb(`https://${host}/cb`, `msg_${host[0]}`)] }));
      const [c] = await store.claimJobs('w', 1, Date.now() + 1, 10_000);
      assert.equal(c?.id, job.id);
      await store.completeJob(job.id, c.leaseToken, { state: 'succeeded', response: null, error: null, finishedAt: at }, 60_000);
    }
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [d] = await store.claimDeliveries('d', 1, t0, 1000, 4, {});
      order.push(d!.id);
    }
    assert.deepEqual(order, ['msg_c', 'msg_a', 'msg_b']);
    assert.deepEqual(await store.claimDeliveries('d', 1, t0, 1000, 4, {}), []);
  });

  test('attempts are recorded, fenced by the lease; dead letters are redelivered', async () => {
    const store = await open();
    const { job } = await store.insertJob(newJob({ callbacks: [cb('https://a.example/cb', 'msg_r')] }));
    await finish(store, job.id);
    const [d] = await store.claimDeliveries('d', 1, Date.now() + 1, 1, 4, {});
    assert.ok(d);
    // The lease lapses and the delivery is rescued: the late attempt cannot record.
    const rescued = await store.rescueExpiredLeases(Date.now() + 1000, 10, INTERRUPTED);
    assert.equal(rescued.deliveries, 1);
    assert.equal(await store.recordAttempt({ deliveryId: 'msg_r', n: 1, at: Date.now(), status: 200, latencyMs: 1, error: null, snippet: null }, d.leaseToken, { state: 'delivered' }), false);
    const [again] = await store.claimDeliveries('d', 1, Date.now() + 2000, 1000, 4, {});
    assert.equal(again?.id, 'msg_r');
    assert.ok(await store.recordAttempt({ deliveryId: 'msg_r', n: 1, at: Date.now(), status: null, latencyMs: 30_000, error: 'timeout', snippet: null }, again.leaseToken, { state: 'failed' }));
    const dead = await store.getDelivery('msg_r');
    assert.equal(dead?.state, 'failed');
    assert.equal(dead?.attempts, 1);
    assert.equal(dead?.lastError, 'timeout');
    assert.deepEqual((await store.attemptsOf('msg_r')).map((a) => [a.n, a.status, a.error]), [[1, null, 'timeout']]);
    assert.deepEqual((await store.listDeliveries({ state: 'failed', limit: 10 })).map((x) => x.id), ['msg_r']);
    assert.equal(await store.redeliverFailedSince(Date.now() - 60_000, Date.now()), 1);
    const back = await store.getDelivery('msg_r');
    assert.equal(back?.state, 'pending');
    assert.equal(back?.round, 0);
    assert.equal(back?.attempts, 1);
    // The job is not purged while its callback is undelivered.
    assert.equal(await store.sweep(Date.now() + 10 * 86_400_000, 10, 1000), 0);
  });
}
