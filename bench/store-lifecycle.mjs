// Store-level micro benchmark of one callback job's writes (no HTTP), two ways: queued (insert with a
// callback, claim, complete, claim its delivery, record the attempt) and direct (insert already leased,
// complete handing the callback over with the job in hand, record the attempt: what a process with free
// slots does). Also times claimDeliveries alone against a backlog of pending deliveries.
// Usage: npm run build && node bench/store-lifecycle.mjs [jobs] [backlog]
// ASYNCGATE_BENCH_DIST=DIR runs another build (e.g. `npx tsc -p tsconfig.build.json --outDir DIR`).
// PRAGMAS="cache_size=-65536;…" applies pragmas after opening (for experiments only).
// PROGRESS=N adds N progress reports to each job of the queued lifecycle, each its own group commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';

const dist = process.env.ASYNCGATE_BENCH_DIST ? resolve(process.env.ASYNCGATE_BENCH_DIST) : new URL('../dist', import.meta.url).pathname;
const { SqliteJobStore } = await import(pathToFileURL(join(dist, 'store/sqlite/sqlite-store.js')).href);

const jobs = Number(process.argv[2] ?? 3000);
const backlog = Number(process.argv[3] ?? 3000);
const dir = mkdtempSync(join(tmpdir(), 'ag-store-bench-'));
const store = new SqliteJobStore({ path: join(dir, 'db.sqlite') });
for (const p of (process.env.PRAGMAS ?? '').split(';').filter(Boolean)) store.db.pragma(p);
const cpu0 = process.cpuUsage();
const response = { status: 200, headers: [['content-type', 'application/json']], size: 11, contentType: 'application/json' };
const body = Buffer.from('{"ok":true}');
let n = 0;
const newJob = (host) => ({
  id: `${Date.now().toString(36)}${(n++).toString(36).padStart(6, '0')}${randomBytes(6).toString('hex')}`,
  dialect: 'prefer', owner: null, idempotencyKey: null, requestHash: 'h',
  request: { method: 'POST', url: '/work', headers: [['content-type', 'application/json']], body: Buffer.from('{"n":1}') },
  options: { timeoutMs: 30000, retryable: false, maxAttempts: 3, retentionMs: 3600000 },
  createdAt: Date.now(),
  callbacks: [{ id: `msg_${randomBytes(8).toString('hex')}`, url: `http://${host}/cb`, method: 'POST', mode: 'response', secret: null }],
});
const us = (t0) => Number(process.hrtime.bigint() - t0) / 1000;
const inflightOf = (m) => Object.fromEntries(m);
const reports = Number(process.env.PROGRESS ?? 0);

// 1. Lifecycle in batches of 50 (as 50 jobs in flight would), every step its own group commit.
const phase = { insert: 0, claim: 0, ...(reports ? { progress: 0 } : {}), complete: 0, claimDelivery: 0, record: 0 };
const t0 = process.hrtime.bigint();
for (let done = 0; done < jobs; done += 50) {
  let t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 50 }, () => store.insertJob(newJob('receiver.test:1'))));
  phase.insert += us(t); t = process.hrtime.bigint();
  const claimed = await store.claimJobs('w', 50, Date.now(), 30000);
  phase.claim += us(t); t = process.hrtime.bigint();
  for (let r = 1; r <= reports; r++) {
    await Promise.all(claimed.map((j) => store.updateProgress(j.id, { current: r, total: reports, message: `step ${r}` }, Date.now())));
  }
  if (reports) { phase.progress += us(t); t = process.hrtime.bigint(); }
  await Promise.all(claimed.map((j) => store.completeJob(j.id, j.leaseToken, { state: 'succeeded', response, body, error: null, finishedAt: Date.now() }, 3600000)));
  phase.complete += us(t); t = process.hrtime.bigint();
  const ds = [];
  for (let i = 0; i < 50; i += 16) ds.push(...(await store.claimDeliveries('w', 16, Date.now(), 30000, 16, {})));
  phase.claimDelivery += us(t); t = process.hrtime.bigint();
  await Promise.all(ds.map((d) => store.recordAttempt({ deliveryId: d.id, n: 1, at: Date.now(), latencyMs: 1, status: 200, error: null, snippet: null }, d.leaseToken, { state: 'delivered' })));
  phase.record += us(t);
}
const total = us(t0);
const cpu = process.cpuUsage(cpu0);
console.log(`cpu user ${(cpu.user / jobs).toFixed(1)} µs/job, system ${(cpu.system / jobs).toFixed(1)} µs/job`);
console.log(`lifecycle: ${jobs} jobs, ${(total / jobs).toFixed(1)} µs/job (${Math.round(jobs / (total / 1e6))} jobs/s), commits ${store.writes.stats.batches}`);
for (const [k, v] of Object.entries(phase)) console.log(`  ${k.padEnd(14)} ${(v / jobs).toFixed(1)} µs/job`);

// 1b. The direct path (JobLease on insert, DeliveryLease + the caller's job on completion), batches of 50.
const cpu1 = process.cpuUsage();
const direct = { insert: 0, complete: 0, record: 0 };
const commits1 = store.writes.stats.batches;
const t1 = process.hrtime.bigint();
for (let done = 0; done < jobs; done += 50) {
  let t = process.hrtime.bigint();
  const now = Date.now();
  const inserted = await Promise.all(Array.from({ length: 50 }, () => store.insertJob(newJob('receiver.test:1'), { owner: 'w', now, leaseMs: 30000 })));
  direct.insert += us(t); t = process.hrtime.bigint();
  const done = await Promise.all(inserted.map(({ job }) => store.completeJob(job.id, job.leaseToken, {
    state: 'succeeded', response, body, error: null, finishedAt: Date.now(), job,
    leaseDeliveries: { owner: 'w', leaseMs: 30000, hosts: { 'receiver.test:1': 1 } },
  }, 3600000)));
  direct.complete += us(t); t = process.hrtime.bigint();
  await Promise.all(done.map(({ deliveries: [d] }) => store.recordAttempt({ deliveryId: d.id, n: 1, at: Date.now(), latencyMs: 1, status: 200, error: null, snippet: null }, d.leaseToken, { state: 'delivered' })));
  direct.record += us(t);
}
const total1 = us(t1);
const cpuDirect = process.cpuUsage(cpu1);
console.log(`direct: cpu user ${(cpuDirect.user / jobs).toFixed(1)} µs/job, system ${(cpuDirect.system / jobs).toFixed(1)} µs/job; ${(total1 / jobs).toFixed(1)} µs/job wall, commits ${store.writes.stats.batches - commits1}`);
for (const [k, v] of Object.entries(direct)) console.log(`  ${k.padEnd(14)} ${(v / jobs).toFixed(1)} µs/job`);

// 2. claimDeliveries against a backlog: `backlog` pending for a full host + 1 fresh one for another host.
for (let i = 0; i < backlog; i += 100) {
  const batch = Array.from({ length: Math.min(100, backlog - i) }, () => newJob('busy.test'));
  await Promise.all(batch.map((j) => store.insertJob(j)));
  const claimed = await store.claimJobs('w', 100, Date.now(), 30000);
  await Promise.all(claimed.map((j) => store.completeJob(j.id, j.leaseToken, { state: 'succeeded', response, body, error: null, finishedAt: Date.now() }, 3600000)));
}
const busyInflight = new Map([['busy.test', 4]]);
const reps = 200;
let tc = process.hrtime.bigint();
for (let i = 0; i < reps; i++) await store.claimDeliveries('w', 1, Date.now(), 30000, 4, inflightOf(busyInflight));
console.log(`claimDeliveries, ${backlog} pending for a host at its limit, nothing claimable: ${(us(tc) / reps).toFixed(1)} µs/claim (incl. commit)`);
busyInflight.set('busy.test', 3);
tc = process.hrtime.bigint();
let got = 0;
for (let i = 0; i < reps; i++) {
  const [d] = await store.claimDeliveries('w', 1, Date.now(), 30000, 4, inflightOf(busyInflight));
  if (d) { got++; await store.recordAttempt({ deliveryId: d.id, n: 1, at: Date.now(), latencyMs: 1, status: 200, error: null, snippet: null }, d.leaseToken, { state: 'delivered' }); }
}
console.log(`claimDeliveries + record, ${backlog} pending, one slot free: ${(us(tc) / reps).toFixed(1)} µs/claim+record (${got} claimed)`);
await store.close();
rmSync(dir, { recursive: true, force: true });
