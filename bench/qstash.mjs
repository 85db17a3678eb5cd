#!/usr/bin/env node
// Issue 16, the QStash-compatible API: publish throughput and end-to-end delivery throughput side by side with
// asyncgate's own dialect, and how late delayed messages fire, idle and under load.
//
//   node bench/qstash.mjs [--rounds 3] [--jobs 10000] [--inflight 64] [--quick] [--json FILE]
//
// One gateway per round (`asyncgate serve --qstash`, default workers, a fresh SQLite file), loads interleaved
// and rotated per round. Every load is an open-loop burst (lib/callback-load runD1: --jobs submissions,
// --inflight in flight; jobs/s = receipts at bench/servers.mjs's receiver / (last receipt - first submission)):
//   native        POST /work with Prefer: respond-async + Callback: <receiver>: the upstream is called, then
//                 the callback sent (two requests out per job)
//   qstash        POST /v2/publish/<receiver>: the message is delivered to the receiver (one request out)
//   qstash+cb     POST /v2/publish/<upstream>/work with Upstash-Callback: <receiver>: the destination, then
//                 the callback (two requests out, as native)
//   delays        --delayed messages with Upstash-Delay: 2s, one every 10 ms, alone ("idle") and during a
//                 qstash burst ("under load"): lateness = receipt - (send time + 2 s), p50 / p99 / max
// CPU per job of the gateway (its process tree) and the machine's idle share over each load, so a run that did
// not have the machine to itself shows. Markdown on stdout, progress on stderr.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { busyBeforeRun, countProcessTrees } from './lib/cpu.mjs';
import { ensureDeps } from './lib/deps.mjs';
import { log } from './lib/paths.mjs';
import { startGateway, startServer, stopAll, stopChild } from './lib/processes.mjs';
import { fmt, percentile } from './lib/stats.mjs';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string' },
    jobs: { type: 'string' },
    inflight: { type: 'string' },
    delayed: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write('Usage: node bench/qstash.mjs [--rounds 3] [--jobs 10000] [--inflight 64] [--delayed 300] [--quick] [--json FILE]\n');
  process.exit(0);
}
const Q = opt.quick;
const s = {
  rounds: Number(opt.rounds ?? (Q ? 1 : 3)),
  dJobs: Number(opt.jobs ?? (Q ? 2000 : 10_000)),
  e2eInflight: Number(opt.inflight ?? 64),
  delayed: Number(opt.delayed ?? (Q ? 100 : 300)),
  drainS: 60,
  maxQueued: '10000000',
};
const TOKEN = 'bench-qstash-token-0123456789abcdef';
const nowMs = () => performance.timeOrigin + performance.now();

/** A submitter for lib/callback-load's runD1: one message per seq, its receipt at <receiver>/cb/<tag>/<seq>. */
function qstashSubmitter(cb, baseUrl, receiverUrl, upstreamUrl, { withCallback }) {
  const body = JSON.stringify({ order: 12345, items: [{ sku: 'A-1', qty: 2 }] });
  return cb.submitterOf(baseUrl, s.e2eInflight, 201, (t, seq) => {
    const target = `${receiverUrl}/cb/${t.tag}/${seq}`;
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'upstash-retries': '3' };
    if (withCallback) headers['upstash-callback'] = target;
    return { path: `/v2/publish/${withCallback ? `${upstreamUrl}/work` : target}`, headers, body };
  });
}

/** Delayed messages, one every 10 ms, each due 2 s after it is sent: lateness of each receipt. */
async function delays(cb, gatewayUrl, receiverUrl, n) {
  const pool = new Pool(gatewayUrl, { connections: 8 });
  const tag = `delay${Date.now()}`;
  const due = new Map();
  const late = [];
  cb.receipts.sinks.set(tag, (seq, at) => {
    if (due.has(seq)) late.push(at - due.get(seq));
    due.delete(seq);
  });
  for (let i = 0; i < n; i++) {
    const sent = nowMs();
    due.set(i, sent + 2000);
    const { body } = await pool.request({
      method: 'POST',
      path: `/v2/publish/${receiverUrl}/cb/${tag}/${i}`,
      headers: { authorization: `Bearer ${TOKEN}`, 'upstash-delay': '2s' },
      body: 'x',
    });
    await body.dump();
    await sleep(10);
  }
  await cb.waitFor(() => due.size === 0, 30_000);
  await pool.close();
  const sorted = Float64Array.from(late).sort();
  return { n: sorted.length, missing: due.size, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1], min: sorted[0] };
}

async function main() {
  ensureDeps();
  const cb = await import('./lib/callback-load.mjs');
  countProcessTrees(true);
  const busy = await busyBeforeRun();
  const [upstream, receiver] = await Promise.all([startServer('upstream'), cb.startReceiver()]);
  const results = [];
  const loads = ['native', 'qstash', 'qstash+cb'];
  for (let round = 0; round < s.rounds; round++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'asyncgate-bench-qstash-'));
    const gw = await startGateway({ ...s, gatewayProcesses: os.availableParallelism() }, upstream.url, path.join(dir, 'q.db'), `qstash-r${round}`, [
      '--qstash',
      '--qstash-token',
      TOKEN,
      '--allow-callback-hosts',
      '127.0.0.1',
      '--signing-secret',
      cb.D_SECRET,
    ]);
    const procs = { gateway: gw, upstream, receiver };
    const order = loads.map((_, i) => loads[(i + round) % loads.length]);
    for (const load of order) {
      log(`round ${round + 1}/${s.rounds}: ${load}`);
      const sub = load === 'native' ? cb.submitter(gw.url, receiver.url, s.e2eInflight, { asyncHeader: 'prefer' }) : qstashSubmitter(cb, gw.url, receiver.url, upstream.url, { withCallback: load === 'qstash+cb' });
      const d1 = await cb.runD1(s, sub, procs, async () => null);
      await sub.close();
      results.push({ round, load, accepted: d1.accepted, received: d1.received, acceptedPerSec: d1.acceptedPerSec, jobsPerSec: d1.deliveriesPerSec, p50: d1.latencyMs.p50, p99: d1.latencyMs.p99, gatewayCpuMsPerJob: d1.cpuMs.gateway / Math.max(1, d1.received), idlePct: d1.idlePct, drained: d1.drained });
    }
    log(`round ${round + 1}/${s.rounds}: delays, idle`);
    results.push({ round, load: 'delays idle', ...(await delays(cb, gw.url, receiver.url, s.delayed)) });
    log(`round ${round + 1}/${s.rounds}: delays under load`);
    const sub = qstashSubmitter(cb, gw.url, receiver.url, upstream.url, { withCallback: false });
    const [, under] = await Promise.all([cb.runD1({ ...s, dJobs: s.dJobs }, sub, procs, async () => null), delays(cb, gw.url, receiver.url, s.delayed)]);
    await sub.close();
    results.push({ round, load: 'delays under load', ...under });
    await stopChild(gw);
    rmSync(dir, { recursive: true, force: true });
  }
  await stopAll();
  report(results, busy);
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ settings: s, results }, null, 2));
}

const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : NaN;
};

function report(results, busy) {
  const out = [];
  out.push(`## QStash-compatible API (node bench/qstash.mjs, ${s.rounds} rounds, ${s.dJobs} messages a burst, ${s.e2eInflight} in flight)`);
  out.push('');
  out.push(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}; busy before the run: ${fmt(busy, 0)}%. Medians over the rounds.`);
  out.push('');
  out.push('| load | accepted/s | end to end jobs/s | latency p50 / p99 | gateway CPU ms/job | machine idle |');
  out.push('|---|---:|---:|---:|---:|---:|');
  for (const load of ['native', 'qstash', 'qstash+cb']) {
    const rs = results.filter((r) => r.load === load);
    const m = (k) => median(rs.map((r) => r[k]));
    out.push(`| ${load} | ${fmt(m('acceptedPerSec'))} | ${fmt(m('jobsPerSec'))} | ${fmt(m('p50'))} / ${fmt(m('p99'))} ms | ${fmt(m('gatewayCpuMsPerJob'), 3)} | ${fmt(m('idlePct'))}% |`);
  }
  out.push('');
  out.push('| delayed messages (2 s) | n | lateness p50 | p99 | max | never arrived |');
  out.push('|---|---:|---:|---:|---:|---:|');
  for (const load of ['delays idle', 'delays under load']) {
    const rs = results.filter((r) => r.load === load);
    const m = (k) => median(rs.map((r) => r[k]));
    out.push(`| ${load.replace('delays ', '')} | ${fmt(m('n'))} | ${fmt(m('p50'), 1)} ms | ${fmt(m('p99'), 1)} ms | ${fmt(m('max'), 1)} ms | ${fmt(m('missing'))} |`);
  }
  out.push('');
  out.push('Every round, raw:');
  out.push('');
  out.push('```');
  for (const r of results) out.push(JSON.stringify(r));
  out.push('```');
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch(async (error) => {
  log(error.stack ?? String(error));
  await stopAll();
  process.exit(1);
});
