/**
 * The storage port's contract for the operator console (lists, search, retry, overview): run inside
 * `jobStoreContract`, so on every backend.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collect, newJob } from './contract-fixtures.js';
import type { JobError, NewJob } from '../model.js';
import type { JobStore } from './port.js';

const TIMEOUT: JobError = { code: 'upstream-timeout', message: 'too slow' };
let seq = 0;
/** Time-ordered ids, as the engine makes them: newest first is descending id. */
const id = (at: number) => `${String(at).padStart(13, '0')}${String(seq++).padStart(4, '0')}${'x'.repeat(13)}`;

async function finish(store: JobStore, jobId: string, how: { state: 'succeeded' | 'failed'; body?: string; error?: JobError | null; at?: number }) {
  const at = how.at ?? Date.now();
  const [claimed] = await store.claimJobs('w', 1, at + 1_000_000, 10_000);
  assert.equal(claimed?.id, jobId);
  const body = how.body === undefined ? undefined : Buffer.from(how.body);
  const response = { status: how.state === 'succeeded' ? 200 : 500, headers: [], size: body?.byteLength ?? 0, contentType: 'text/plain' };
  return store.completeJob(jobId, claimed.leaseToken, { state: how.state, response, body, error: how.error ?? null, finishedAt: at }, 60_000);
}

export function adminContract(open: () => Promise<JobStore>): void {
  test('admin list: newest first, a page at a time, narrowed by state, method, path, time and error code', async () => {
    const store = await open();
    const t = Date.now() - 10_000;
    const jobs: NewJob[] = [
      newJob({ id: id(t), createdAt: t, request: { method: 'GET', url: '/exports/1?x=y', headers: [], body: null } }),
      newJob({ id: id(t + 1), createdAt: t + 1, request: { method: 'POST', url: '/exports/2', headers: [], body: Buffer.from('a') } }),
      newJob({ id: id(t + 2), createdAt: t + 2, request: { method: 'POST', url: '/imports/3', headers: [], body: Buffer.from('b') } }),
      newJob({ id: id(t + 3), createdAt: t + 3, request: { method: 'PUT', url: '/exportsX', headers: [], body: null } }),
    ];
    for (const j of jobs) await store.insertJob(j);
    const ids = jobs.map((j) => j.id);
    await finish(store, ids[0]!, { state: 'failed', error: TIMEOUT, at: t + 10 });
    const page1 = await store.listJobs({ limit: 3 });
    assert.deepEqual(page1.map((j) => j.id), [ids[3], ids[2], ids[1]]);
    assert.deepEqual((await store.listJobs({ limit: 3, after: page1.at(-1)!.id })).map((j) => j.id), [ids[0]]);
    assert.deepEqual((await store.listJobs({ limit: 10, state: 'failed' })).map((j) => j.id), [ids[0]]);
    assert.deepEqual((await store.listJobs({ limit: 10, method: 'POST' })).map((j) => j.id), [ids[2], ids[1]]);
    assert.deepEqual((await store.listJobs({ limit: 10, pathPrefix: '/exports/' })).map((j) => j.id), [ids[1], ids[0]]);
    assert.deepEqual((await store.listJobs({ limit: 10, pathPrefix: '/exports' })).map((j) => j.id), [ids[3], ids[1], ids[0]]);
    assert.deepEqual((await store.listJobs({ limit: 10, since: t + 1, until: t + 3 })).map((j) => j.id), [ids[2], ids[1]]);
    assert.deepEqual((await store.listJobs({ limit: 10, errorCode: 'upstream-timeout' })).map((j) => j.id), [ids[0]]);
    assert.deepEqual((await store.listJobs({ limit: 10, errorCode: 'internal' })), []);
    assert.deepEqual((await store.listJobs({ limit: 10, method: 'POST', pathPrefix: '/imports' })).map((j) => j.id), [ids[2]]);
    assert.equal(await store.countJobs({}, 100), 4);
    assert.equal(await store.countJobs({}, 2), 2, 'counting stops at upTo');
    assert.equal(await store.countJobs({ retryableOnly: true }, 100), 1);
    assert.equal(await store.countJobs({ method: 'POST' }, 100), 2);
  });

  test('admin search: an exact id or Idempotency-Key, a piece of the URL, words of the request or response body', async () => {
    const store = await open();
    const body = (text: string) => ({ method: 'POST', url: '/orders', headers: [] as Array<[string, string]>, body: Buffer.from(text) });
    const invoice = newJob({ request: body('{"customer":"Ärger-GmbH","note":"Invoice for order 4711"}') });
    const other = newJob({ request: body('{"customer":"someone else","note":"a receipt"}') });
    const keyed = newJob({ idempotencyKey: 'order-key-77', owner: 'o', request: { method: 'GET', url: '/reports/2026?format=csv', headers: [], body: null } });
    const binary = newJob({ request: { ...body(''), body: Buffer.from([0x49, 0x6e, 0x76, 0x00, 0xff, 0x6f, 0x69, 0x63, 0x65]) } });
    for (const j of [invoice, other, keyed, binary]) await store.insertJob(j);
    const found = async (search: string) => (await store.listJobs({ limit: 10, search })).map((j) => j.id).sort();
    assert.deepEqual(await found(invoice.id), [invoice.id]);
    assert.deepEqual(await found('order-key-77'), [keyed.id]);
    assert.deepEqual(await found('format=CSV'), [keyed.id], 'a URL substring, any case');
    assert.deepEqual(await found('invoice'), [invoice.id]);
    assert.deepEqual(await found('INVO'), [invoice.id], 'the start of a word');
    assert.deepEqual(await found('4711 invoice'), [invoice.id], 'every word, in any order');
    assert.deepEqual(await found('invoice receipt'), [], 'all the words, not any');
    assert.deepEqual(await found('ärger'), [invoice.id], 'letters beyond ASCII');
    assert.deepEqual(await found('voice'), [], 'words are matched from their start');
    assert.deepEqual(await found('ice'), [], 'a binary body is not searched');
    assert.deepEqual(await found('"*:&|!'), [], 'punctuation alone finds nothing and breaks nothing');
    assert.equal(await store.countJobs({ search: 'invoice' }, 10), 1);
    // The response body is searchable once the job finishes with it.
    await finish(store, invoice.id, { state: 'succeeded', body: 'shipped by carrier Zephyr' });
    assert.deepEqual(await found('zephyr'), [invoice.id]);
    assert.deepEqual(await found('zephyr invoice'), [invoice.id], 'words from request and response together');
    // A deleted job is found no more (and its index entries go with it).
    await store.deleteJob(invoice.id, Date.now(), Date.now() + 1000);
    assert.deepEqual(await found('invoice'), []);
    assert.deepEqual(await found('zephyr'), []);
  });

  test('retry: a failed or canceled job is queued again, same id, its result cleared and its callbacks waiting again', async () => {
    const store = await open();
    const cb = { url: 'https://hooks.example/cb', method: 'POST' as const, mode: 'notify' as const, secret: null };
    const job = newJob({ callbacks: [{ ...cb, id: 'msg_retry_1' }] });
    await store.insertJob(job);
    await finish(store, job.id, { state: 'failed', body: 'first failure text', error: { code: 'upstream-http-error', message: '500' } });
    const [d] = await store.claimDeliveries('d', 10, Date.now() + 1_000_000, 1000, 4, {});
    assert.equal(d?.id, 'msg_retry_1');
    await store.recordAttempt({ deliveryId: d.id, n: 1, at: Date.now(), status: 200, latencyMs: 3, error: null, snippet: null }, d.leaseToken, { state: 'delivered' });
    const before = (await store.getJob(job.id))!;
    const out = await store.retryJob(job.id, Date.now());
    assert.equal(out?.retried, true);
    const again = out!.job;
    assert.equal(again.id, job.id);
    assert.equal(again.state, 'queued');
    assert.equal(again.attempts, 0);
    assert.equal(again.error, null);
    assert.equal(again.response, null);
    assert.equal(again.finishedAt, null);
    assert.equal(again.expiresAt, null);
    assert.ok(again.version > before.version);
    assert.equal(Buffer.from(again.request.body!).toString(), 'hi');
    assert.equal((await collect(store.readResult(job.id))).length, 0, 'the old result is gone');
    assert.equal((await store.getDelivery('msg_retry_1'))?.state, 'waiting');
    assert.deepEqual((await store.listJobs({ limit: 10, search: 'failure' })).map((j) => j.id), [], 'nor is the old response searchable');
    assert.equal(await store.countQueued(), 1);
    // It runs again, and its callback goes out again when it finishes.
    const done = await finish(store, job.id, { state: 'succeeded', body: 'second answer' });
    assert.equal(done?.job.state, 'succeeded');
    assert.equal(done?.job.attempts, 1);
    assert.equal((await collect(store.readResult(job.id))).toString(), 'second answer');
    assert.equal((await store.getDelivery('msg_retry_1'))?.state, 'pending');
    assert.deepEqual((await store.listJobs({ limit: 10, search: 'second answer' })).map((j) => j.id), [job.id]);
    // Succeeded, queued, running: nothing changes. No such job: null.
    const succeeded = await store.retryJob(job.id, Date.now());
    assert.deepEqual([succeeded?.retried, succeeded?.job.state], [false, 'succeeded']);
    const queued = await store.insertJob(newJob());
    assert.equal((await store.retryJob(queued.job.id, Date.now()))?.retried, false);
    const now = Date.now();
    const running = await store.insertJob(newJob({ createdAt: now }), { owner: 'w', now, leaseMs: 10_000 });
    const r = await store.retryJob(running.job.id, now);
    assert.deepEqual([r?.retried, r?.job.state, r?.job.leaseToken], [false, 'running', running.job.leaseToken]);
    assert.equal(await store.retryJob('missing', Date.now()), null);
    // A canceled job may be retried too.
    await store.cancelJob(queued.job.id, { code: 'canceled', message: 'c' }, Date.now(), 1000);
    assert.equal((await store.retryJob(queued.job.id, Date.now()))?.job.state, 'queued');
  });

  test('bulk retry: only Failed or Canceled jobs matching the filter, newest first, at most the limit', async () => {
    const store = await open();
    const t = Date.now() - 1000;
    const failed: string[] = [];
    for (let i = 0; i < 4; i++) {
      const j = newJob({ id: id(t + i), createdAt: t + i });
      await store.insertJob(j);
      await finish(store, j.id, { state: 'failed', error: TIMEOUT });
      failed.push(j.id);
    }
    const ok = newJob({ id: id(t + 10), createdAt: t + 10 });
    await store.insertJob(ok);
    await finish(store, ok.id, { state: 'succeeded' });
    assert.equal(await store.countJobs({ retryableOnly: true, errorCode: 'upstream-timeout' }, 3), 3);
    const first = await store.retryJobs({ errorCode: 'upstream-timeout' }, 3, Date.now());
    assert.deepEqual(first.map((j) => j.id), [failed[3], failed[2], failed[1]]);
    assert.ok(first.every((j) => j.state === 'queued'));
    assert.deepEqual((await store.retryJobs({}, 10, Date.now())).map((j) => j.id), [failed[0]], 'the succeeded job is left alone');
    assert.deepEqual(await store.retryJobs({ state: 'succeeded' }, 10, Date.now()), []);
    assert.equal((await store.getJob(ok.id))?.state, 'succeeded');
  });

  test('admin filters by owner (null: the jobs without one) and by dialect: list, count and bulk retry', async () => {
    const store = await open();
    const t = Date.now() - 1000;
    const jobs = [
      newJob({ id: id(t), createdAt: t, owner: 'alice', dialect: 'qstash' }),
      newJob({ id: id(t + 1), createdAt: t + 1, owner: 'bob', dialect: 'qstash' }),
      newJob({ id: id(t + 2), createdAt: t + 2, owner: null, dialect: 'qstash' }),
      newJob({ id: id(t + 3), createdAt: t + 3, owner: 'alice', dialect: 'prefer' }),
      newJob({ id: id(t + 4), createdAt: t + 4, owner: null, dialect: 'polling' }),
    ];
    for (const j of jobs) await store.insertJob(j);
    const ids = jobs.map((j) => j.id);
    const listed = async (f: Parameters<JobStore['countJobs']>[0]) => (await store.listJobs({ ...f, limit: 10 })).map((j) => j.id);
    assert.deepEqual(await listed({ owner: 'alice' }), [ids[3], ids[0]]);
    assert.deepEqual(await listed({ owner: null }), [ids[4], ids[2]]);
    assert.deepEqual(await listed({ owner: 'nobody' }), []);
    assert.deepEqual(await listed({ dialect: 'qstash' }), [ids[2], ids[1], ids[0]]);
    assert.deepEqual(await listed({ dialect: 'qstash', owner: null }), [ids[2]]);
    assert.deepEqual(await listed({ owner: undefined }), ids.slice().reverse(), 'undefined narrows nothing');
    assert.equal(await store.countJobs({ owner: 'alice' }, 100), 2);
    assert.equal(await store.countJobs({ owner: null }, 100), 2);
    assert.equal(await store.countJobs({ dialect: 'qstash' }, 100), 3);
    assert.equal(await store.countJobs({ dialect: 'prefer', owner: 'bob' }, 100), 0);
    for (const j of ids) await finish(store, j, { state: 'failed', error: TIMEOUT });
    assert.deepEqual((await store.retryJobs({ owner: 'alice', dialect: 'qstash' }, 10, Date.now())).map((j) => j.id), [ids[0]]);
    assert.deepEqual((await store.retryJobs({ owner: null }, 10, Date.now())).map((j) => j.id), [ids[4], ids[2]]);
    assert.deepEqual((await store.retryJobs({ dialect: 'qstash' }, 10, Date.now())).map((j) => j.id), [ids[1]]);
    assert.equal(await store.countJobs({ state: 'failed' }, 100), 1, 'only the alice/prefer job is left failed');
  });

  test('admin deliveries: newest first, by host, last status (exact or class) and time; bulk redeliver by host with a limit', async () => {
    const store = await open();
    const t = Date.now();
    const specs = ['a.example', 'a.example', 'b.example'].map((host, i) => ({ id: `msg_adm_${i}`, url: `https://${host}/cb`, method: 'POST' as const, mode: 'notify' as const, secret: null }));
    const job = newJob({ createdAt: t, callbacks: specs });
    await store.insertJob(job);
    // created_at of each a little apart, so "newest first" has an order to show.
    for (const [i, s] of specs.entries()) await store.addCallback(job.id, { ...s, url: `${s.url}?late` }, `${s.id}_late`, t + 10 + i);
    await finish(store, job.id, { state: 'succeeded', at: t + 20 });
    const claimed = await store.claimDeliveries('d', 10, t + 1_000_000, 1000, 10, {});
    assert.equal(claimed.length, 6);
    const status: Record<string, number> = { msg_adm_0: 500, msg_adm_1: 503, msg_adm_2: 404 };
    for (const d of claimed) {
      const code = status[d.id] ?? 200;
      await store.recordAttempt({ deliveryId: d.id, n: 1, at: t + 30, status: code, latencyMs: 2, error: null, snippet: null }, d.leaseToken, code === 200 ? { state: 'delivered' } : { state: 'failed' });
    }
    const list = async (q: Parameters<JobStore['listDeliveries']>[0]) => (await store.listDeliveries(q)).map((d) => d.id);
    assert.deepEqual(await list({ limit: 10, jobId: job.id }), ['msg_adm_2_late', 'msg_adm_1_late', 'msg_adm_0_late', 'msg_adm_2', 'msg_adm_1', 'msg_adm_0']);
    const page = await list({ limit: 2 });
    assert.deepEqual(await list({ limit: 2, after: page[1]! }), ['msg_adm_0_late', 'msg_adm_2']);
    assert.deepEqual(await list({ limit: 10, host: 'a.example', state: 'failed' }), ['msg_adm_1', 'msg_adm_0']);
    assert.deepEqual(await list({ limit: 10, status: { min: 500, max: 599 } }), ['msg_adm_1', 'msg_adm_0']);
    assert.deepEqual(await list({ limit: 10, status: { min: 404, max: 404 } }), ['msg_adm_2']);
    assert.deepEqual(await list({ limit: 10, since: t + 30 }), (await list({ limit: 10 })));
    assert.deepEqual(await list({ limit: 10, until: t + 30 }), []);
    assert.equal(await store.countDeliveries({ state: 'failed' }, 10), 3);
    assert.equal(await store.countDeliveries({ state: 'failed', host: 'a.example', since: t }, 10), 2);
    assert.equal(await store.redeliverFailedSince(t, t + 40, { host: 'a.example', limit: 1 }), 1);
    assert.equal(await store.countDeliveries({ state: 'pending' }, 10), 1);
    assert.equal(await store.redeliverFailedSince(t, t + 40, { host: 'c.example' }), 0);
    assert.equal(await store.redeliverFailedSince(t, t + 40), 2);
  });

  test('overview: jobs by state, accepted and finished per minute, the oldest queued job, failing hosts', async () => {
    const store = await open();
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const old = newJob({ createdAt: minute - 5 * 60_000 });
    const fresh = newJob({ createdAt: minute + 1, callbacks: [{ id: 'msg_ov_1', url: 'https://down.example/cb', method: 'POST', mode: 'notify', secret: null }] });
    const queued = newJob({ createdAt: minute + 2 });
    for (const j of [old, fresh, queued]) await store.insertJob(j);
    const [c1] = await store.claimJobs('w', 1, minute + 3, 10_000);
    assert.equal(c1?.id, old.id);
    await store.completeJob(old.id, c1.leaseToken, { state: 'failed', response: null, error: TIMEOUT, finishedAt: minute + 4 }, 60_000);
    const [c2] = await store.claimJobs('w', 1, minute + 5, 10_000);
    await store.completeJob(fresh.id, c2!.leaseToken, { state: 'succeeded', response: null, error: null, finishedAt: minute + 6 }, 60_000);
    const [d] = await store.claimDeliveries('d', 1, minute + 7, 1000, 4, {});
    await store.recordAttempt({ deliveryId: d!.id, n: 1, at: minute + 8, status: 502, latencyMs: 1, error: null, snippet: null }, d!.leaseToken, { state: 'failed' });
    const o = await store.overview(minute - 10 * 60_000, minute - 60_000, minute + 10 * 60_000);
    assert.deepEqual(o.jobsByState, { failed: 1, succeeded: 1, queued: 1 });
    assert.deepEqual(o.perMinute, [
      { minute: minute - 5 * 60_000, settled: true, accepted: 1, finished: 0 },
      { minute, settled: true, accepted: 2, finished: 2 },
    ]);
    // Split at minute + 2: the jobs created at minute + 1 and finished at minute + 4 and + 6 are before and
    // from it; counted from minute + 1 on, the job created at minute − 5 min is left out.
    const split = await store.overview(minute + 1, minute - 60_000, minute + 2);
    assert.deepEqual(split.perMinute, [
      { minute, settled: true, accepted: 1, finished: 0 },
      { minute, settled: false, accepted: 1, finished: 2 },
    ]);
    assert.equal(o.oldestQueuedAt, minute + 2);
    assert.deepEqual(o.deliveriesByState, { failed: 1 });
    assert.deepEqual(o.failingHosts, [{ host: 'down.example', failed: 2, lastStatus: 502 }]);
    const later = await store.overview(minute + 60_000, minute + 60_000, minute + 60_000);
    assert.deepEqual([later.perMinute, later.failingHosts], [[], []]);
  });

  test('gauges: queued and running jobs, the oldest due job in the queue, deliveries by state, the oldest pending', async () => {
    const store = await open();
    const empty = await store.gauges();
    assert.deepEqual(empty, { jobs: { queued: 0, running: 0 }, oldestQueuedAt: null, deliveries: { waiting: 0, pending: 0, delivering: 0, failed: 0 }, oldestPendingDeliveryAt: null });
    const t = Date.now();
    const cb = (id: string) => [{ id, url: 'https://hooks.example/cb', method: 'POST' as const, mode: 'notify' as const, secret: null }];
    const a = newJob({ createdAt: t - 3_000, callbacks: cb(`msg_g_${t}_1`) });
    const b = newJob({ createdAt: t - 2_000, callbacks: cb(`msg_g_${t}_2`) });
    const c = newJob({ createdAt: t - 1_000 });
    for (const j of [a, b, c]) await store.insertJob(j);
    const [ca] = await store.claimJobs('w', 1, t, 10_000);
    assert.equal(ca?.id, a.id);
    let g = await store.gauges();
    assert.deepEqual(g.jobs, { queued: 2, running: 1 });
    assert.equal(g.oldestQueuedAt, t - 2_000);
    assert.deepEqual(g.deliveries, { waiting: 2, pending: 0, delivering: 0, failed: 0 });
    assert.equal(g.oldestPendingDeliveryAt, null);
    await store.completeJob(a.id, ca.leaseToken, { state: 'succeeded', response: null, error: null, finishedAt: t + 1 }, 60_000);
    g = await store.gauges();
    assert.deepEqual(g.jobs, { queued: 2, running: 0 });
    assert.equal(g.deliveries.waiting, 1);
    assert.equal(g.deliveries.pending, 1);
    assert.ok(g.oldestPendingDeliveryAt !== null && g.oldestPendingDeliveryAt >= t);
    const [d] = await store.claimDeliveries('d', 1, Date.now() + 10, 1000, 4, {});
    assert.deepEqual((await store.gauges()).deliveries, { waiting: 1, pending: 0, delivering: 1, failed: 0 });
    await store.recordAttempt({ deliveryId: d!.id, n: 1, at: t + 2, status: 500, latencyMs: 1, error: null, snippet: null }, d!.leaseToken, { state: 'failed' });
    g = await store.gauges();
    assert.deepEqual(g.deliveries, { waiting: 1, pending: 0, delivering: 0, failed: 1 });
    assert.equal(g.oldestPendingDeliveryAt, null);
  });
}
