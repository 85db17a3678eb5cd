// Section D's load generator. Each job's callback URL is <receiver>/cb/<tag>/<seq>: the receiver
// (bench/servers.mjs receiver) reports every receipt, and whether its signature verified, on its stdout,
// which is how this process knows when a job's callback was acknowledged. D1 is an open-loop burst, D2 a
// closed loop; both work the same against asyncgate and against the baseline.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { withCpu } from './cpu.mjs';
import { ACCEPT_BODY } from './load.mjs';
import { SERVERS } from './paths.mjs';
import { startChild } from './processes.mjs';
import { percentile } from './stats.mjs';

/** The Standard Webhooks secret both systems sign with and the receiver verifies. */
export const D_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const nowMs = () => performance.timeOrigin + performance.now(); // epoch ms, µs precision (as the receiver's)

export const receipts = { sinks: new Map(), unknown: 0 };
function onReceipt(line) {
  const [, tag, seq, at, ok] = line.split(' '); // "@cb <tag> <seq> <epoch ms> <1|0>"
  const sink = receipts.sinks.get(tag);
  if (sink) sink(Number(seq), Number(at), ok === '1');
  else receipts.unknown++;
}

export const startReceiver = () =>
  startChild('receiver', [SERVERS, 'receiver'], { env: { RECEIVER_SECRET: D_SECRET }, ready: (msg) => msg.listening, onLine: onReceipt });

let tagCounter = 0;
/** One load's bookkeeping: submit and receipt times by seq, 202s, other answers, duplicates, bad signatures. */
function tracker(name) {
  const t = {
    tag: `${name}${++tagCounter}`,
    submitted: new Map(),
    received: new Map(),
    accepted: 0,
    rejected: {},
    errors: 0,
    duplicates: 0,
    badSignatures: 0,
    first: Infinity,
    last: -Infinity,
    onReceipt: undefined,
  };
  receipts.sinks.set(t.tag, (seq, at, ok) => {
    if (!ok) t.badSignatures++;
    if (t.received.has(seq)) {
      t.duplicates++;
      return;
    }
    t.received.set(seq, at);
    if (at < t.first) t.first = at;
    if (at > t.last) t.last = at;
    t.onReceipt?.(seq, at);
  });
  return t;
}

/**
 * Submits jobs (POST /work, Pragma: redirect, Callback: <receiver/cb/tag/seq>) over a keep-alive pool.
 * asyncHeader 'prefer' sends `Prefer: respond-async` instead of `Pragma: redirect` (the same to both systems).
 */
export function submitter(baseUrl, receiverUrl, connections, { asyncHeader = 'pragma' } = {}) {
  const asyncHeaders = asyncHeader === 'prefer' ? { prefer: 'respond-async' } : { pragma: 'redirect' };
  return submitterOf(baseUrl, connections, 202, (t, seq) => ({
    path: '/work',
    headers: { 'content-type': 'application/json', ...asyncHeaders, callback: `<${receiverUrl}/cb/${t.tag}/${seq}>` },
    body: ACCEPT_BODY,
  }));
}

/** A submitter of any request (`request(t, seq)`: path, headers, body; POSTed), counted accepted when it answers
 * `okStatus`: for runD1 and runD2. */
export function submitterOf(baseUrl, connections, okStatus, request) {
  const pool = new Pool(baseUrl, { connections, pipelining: 1 });
  return {
    async submit(t, seq) {
      t.submitted.set(seq, nowMs());
      try {
        const { statusCode, body } = await pool.request({ method: 'POST', ...request(t, seq) });
        await body.dump();
        if (statusCode === okStatus) {
          t.accepted++;
          return true;
        }
        t.rejected[statusCode] = (t.rejected[statusCode] ?? 0) + 1;
      } catch {
        t.errors++;
      }
      return false;
    },
    close: () => pool.close(),
  };
}

export async function waitFor(cond, ms) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}

/** Submit n jobs, at most `concurrency` submissions in flight (open loop: callbacks are not waited for). */
async function burst(sub, t, n, concurrency) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await sub.submit(t, next++);
    }),
  );
}

function latencyStats(t, from = -Infinity, to = Infinity) {
  const d = [];
  for (const [seq, at] of t.received) {
    const s = t.submitted.get(seq);
    if (s !== undefined && s >= from && s < to) d.push(at - s);
  }
  const s = Float64Array.from(d).sort();
  return s.length ? { n: s.length, p50: percentile(s, 0.5), p90: percentile(s, 0.9), p99: percentile(s, 0.99), max: s[s.length - 1] } : { n: 0 };
}

export const rejectedCount = (t) => Object.values(t.rejected).reduce((a, b) => a + b, 0);

/** D1: a warm-up burst, then a burst of s.dJobs; deliveries/s from the first to the last receipt. */
export async function runD1(s, sub, procs, probeFn) {
  const w = tracker('w');
  await burst(sub, w, Math.min(300, s.dJobs), s.e2eInflight);
  await waitFor(() => w.received.size >= w.accepted, s.drainS * 1000);
  const t = tracker('d1');
  await probeFn();
  const started = nowMs();
  let submitMs = NaN;
  let drained = false;
  const run = await withCpu(procs, async () => {
    await burst(sub, t, s.dJobs, s.e2eInflight);
    submitMs = nowMs() - started;
    drained = await waitFor(() => t.received.size >= t.accepted, s.drainS * 1000);
  });
  const probeStats = await probeFn();
  const n = t.received.size;
  return {
    jobs: s.dJobs,
    accepted: t.accepted,
    received: n,
    duplicates: t.duplicates,
    badSignatures: t.badSignatures,
    rejected: t.rejected,
    errors: t.errors,
    drained,
    submitMs,
    acceptedPerSec: t.accepted / (submitMs / 1000),
    deliveriesPerSec: n > 1 ? (n - 1) / ((t.last - t.first) / 1000) : NaN,
    firstReceiptMs: t.first - started,
    lastReceiptMs: t.last - started,
    latencyMs: latencyStats(t),
    cpu: run.cpu,
    cpuMs: run.cpuMs,
    cpuWallMs: run.wallMs,
    idlePct: run.idlePct,
    trees: run.trees,
    rest: run.rest,
    probe: probeStats,
  };
}

/**
 * D2: closed loop. s.e2eInflight jobs are kept in flight end to end: a new job is submitted when a callback
 * arrives. s.warmup s un-measured, then s.duration s measured: jobs/s = callbacks received in the measured
 * window per second. Then submission stops and the jobs still out are waited for (at most s.drainS).
 */
export async function runD2(s, sub, procs, probeFn) {
  const t = tracker('d2');
  let open = true;
  let inflight = 0;
  let seq = 0;
  let failures = 0;
  const launch = () => {
    inflight++;
    void sub.submit(t, seq++).then((ok) => {
      if (ok) return;
      inflight--;
      // Not accepted: try again a little later (bounded: a broken target must not spin).
      if (open && ++failures < 1_000) setTimeout(launch, 10);
    });
  };
  t.onReceipt = () => {
    inflight--;
    if (open) launch();
  };
  const t0 = nowMs();
  for (let i = 0; i < s.e2eInflight; i++) launch();
  await sleep(s.warmup * 1000);
  await probeFn();
  const from = nowMs();
  const accepted0 = t.accepted;
  const run = await withCpu(procs, () => sleep(s.duration * 1000));
  const to = nowMs();
  const accepted1 = t.accepted;
  open = false;
  const probeStats = await probeFn();
  const drainStart = Date.now();
  const drained = await waitFor(() => inflight <= 0, s.drainS * 1000);
  const drainMs = Date.now() - drainStart;
  let inWindow = 0;
  for (const at of t.received.values()) if (at >= from && at < to) inWindow++;
  return {
    inflight: s.e2eInflight,
    windowS: (to - from) / 1000,
    completed: inWindow,
    jobsPerSec: inWindow / ((to - from) / 1000),
    acceptedPerSec: (accepted1 - accepted0) / ((to - from) / 1000),
    submitted: seq,
    accepted: t.accepted,
    received: t.received.size,
    outstandingAfterDrain: Math.max(0, inflight),
    drained,
    drainMs,
    duplicates: t.duplicates,
    badSignatures: t.badSignatures,
    rejected: t.rejected,
    errors: t.errors,
    latencyMs: latencyStats(t, from, to),
    warmupS: (from - t0) / 1000,
    cpu: run.cpu,
    cpuMs: run.cpuMs,
    cpuWallMs: run.wallMs,
    idlePct: run.idlePct,
    trees: run.trees,
    rest: run.rest,
    probe: probeStats,
  };
}
