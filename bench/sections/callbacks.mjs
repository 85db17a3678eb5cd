// Section D: callbacks. asyncgate against a baseline built the common way (bench/baseline-bullmq.mjs:
// Fastify + BullMQ on the local Redis + an undici sender), both POSTing the upstream's response to the same
// receiver (bench/servers.mjs receiver), signed with the same Standard Webhooks secret.
//   D1: deliveries/s to the receiver for a burst of jobs (open loop)
//   D2: end-to-end jobs/s, accept → upstream → callback acknowledged (closed loop)
// The load itself is in lib/callback-load.mjs; the report's part in sections/callbacks-report.mjs.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { D_SECRET, receipts, runD1, runD2, startReceiver, submitter, waitFor } from '../lib/callback-load.mjs';
import { packageVersion } from '../lib/deps.mjs';
import { getJson } from '../lib/load.mjs';
import { BASELINE, log } from '../lib/paths.mjs';
import { probe, startChild, startGateway, stopChild } from '../lib/processes.mjs';

/** D1 and D2 against a fresh gateway (its own SQLite file); perHost: raise callbacks.perHost/concurrency to it. */
async function callbacksAsyncgate(ctx, receiver, label, perHost) {
  const { upstream, settings: s, tmpDir } = ctx;
  const extra = ['--allow-callback-hosts', '127.0.0.1', '--signing-secret', D_SECRET];
  let config;
  if (perHost) {
    config = { callbacks: { perHost, concurrency: Math.max(perHost, 32) } };
    const file = path.join(tmpDir, `${label}.json`);
    writeFileSync(file, JSON.stringify(config));
    extra.push('--config', file);
  }
  const name = perHost ? `asyncgate (callbacks.perHost ${perHost})` : 'asyncgate';
  const gateway = await startGateway(s, upstream.url, path.join(tmpDir, `${label}.db`), label, extra);
  const sub = submitter(gateway.url, receiver.url, s.e2eInflight);
  const procs = { system: gateway, upstream, receiver };
  const probeFn = () => probe(gateway);
  log(`D1. callbacks: ${name} ${gateway.url}, 300 warm-up jobs, then a burst of ${s.dJobs} (${s.e2eInflight} submissions in flight) to the receiver ${receiver.url}`);
  const d1 = await runD1(s, sub, procs, probeFn);
  log(`D2. end to end: ${name}, ${s.e2eInflight} jobs in flight (closed loop), ${s.warmup} s + ${s.duration} s`);
  const d2 = await runD2(s, sub, procs, probeFn);
  const health = (await getJson(`${gateway.url}/_async/health`)).json;
  await sub.close();
  await stopChild(gateway);
  return { name, perHost: perHost ?? null, config: config ?? null, d1, d2, health, warnings: gateway.warnings };
}

/** D1 and D2 against the Fastify + BullMQ baseline, on a fresh queue it obliterates when it stops. */
async function callbacksBaseline(ctx, receiver) {
  const { upstream, settings: s } = ctx;
  const queue = `asyncgate-bench-${process.pid}-${Date.now().toString(36)}`;
  const args = [];
  if (s.cpuProfDir) args.push('--cpu-prof', '--cpu-prof-dir', s.cpuProfDir, '--cpu-prof-name', 'baseline-bullmq.cpuprofile');
  args.push(BASELINE, '--upstream', upstream.url, '--secret', D_SECRET, '--queue', queue, '--redis', s.redis);
  let facts;
  let cleanup;
  let base;
  try {
    base = await startChild('baseline (fastify+bullmq)', args, {
      ready: (msg) => {
        if (msg.obliterated) cleanup = msg;
        if (msg.listening) facts = msg;
        return msg.listening;
      },
    });
    const bsub = submitter(base.url, receiver.url, s.e2eInflight);
    const bprocs = { system: base, upstream, receiver };
    if (Number.isInteger(facts.redis?.pid) && existsSync(`/proc/${facts.redis.pid}/stat`)) bprocs.redis = { proc: { pid: facts.redis.pid } };
    const noProbe = async () => null;
    log(`D1. callbacks: baseline (Fastify + BullMQ queue "${queue}" on ${s.redis} + undici) ${base.url}`);
    const bd1 = await runD1(s, bsub, bprocs, noProbe);
    log(`D2. end to end: baseline, ${s.e2eInflight} jobs in flight (closed loop), ${s.warmup} s + ${s.duration} s`);
    const bd2 = await runD2(s, bsub, bprocs, noProbe);
    await bsub.close();
    log('D. stopping the baseline (it obliterates its queue)');
    await stopChild(base, 30_000);
    await waitFor(() => cleanup, 1_000);
    return { d1: bd1, d2: bd2, queue, redis: facts.redis, cleanup: cleanup ?? null, warnings: base.warnings };
  } catch (error) {
    log(`D. baseline failed: ${error.message}`);
    if (base) await stopChild(base, 30_000);
    const lines = String(error.message).split('\n').map((x) => x.trim()).filter(Boolean);
    return { error: [...new Set([lines[0], ...lines.slice(1).filter((x) => /error/i.test(x)).slice(-1)])].join(' … '), queue, cleanup: cleanup ?? null };
  }
}

export async function sectionCallbacks(ctx) {
  const { settings: s } = ctx;
  const receiver = await startReceiver();
  const out = { receiverUrl: receiver.url };
  out.versions = { fastify: packageVersion('fastify'), bullmq: packageVersion('bullmq'), ioredis: packageVersion('ioredis'), undici: packageVersion('undici') };
  try {
    out.asyncgate = await callbacksAsyncgate(ctx, receiver, 'callbacks', undefined);
    out.tuned = [];
    for (const n of s.dPerHost) out.tuned.push(await callbacksAsyncgate(ctx, receiver, `callbacks-perhost-${n}`, n));
    if (s.baseline) out.baseline = await callbacksBaseline(ctx, receiver);
  } finally {
    await stopChild(receiver);
  }
  out.unknownReceipts = receipts.unknown;
  return out;
}
