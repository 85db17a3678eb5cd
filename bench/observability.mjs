#!/usr/bin/env node
// What metrics and tracing cost (issue 13): accept and end-to-end throughput of three gateways side by side in
// one run, each on its own SQLite file in front of the same echo upstream:
//
//   off      --no-metrics, no OpenTelemetry SDK: records nothing
//   on       the default: metrics recorded, the tracing API in use with no SDK registered
//   on+sdk   metrics, and a real SDK (bench/lib/otel-sdk.mjs, preloaded) recording every span and dropping it
//
//   npm run build && node bench/observability.mjs [--duration 8] [--rounds 3] [--connections 50]
//
// accept: autocannon POSTs with `Prefer: respond-async` (202s/s). end to end: the same with
// `Prefer: respond-async, wait=10`, so each answer is the job's final response, after accept, commit, the
// upstream attempt and completion (200s/s). Every side of a round starts from an empty queue, and the order
// rotates from round to round, so neither a warming machine nor a growing file favours one gateway. /metrics is
// scraped once a second during the rounds of the gateways that record (as Prometheus would, faster).
// A markdown table goes to stdout; progress to stderr. Target: `on` within 3 % of `off`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureDeps } from './lib/deps.mjs';
import { BENCH, CLI, log } from './lib/paths.mjs';
import { startChild, startServer, stopAll } from './lib/processes.mjs';
import { fmt } from './lib/stats.mjs';

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) {
  process.stdout.write('Usage: node bench/observability.mjs [--duration S] [--rounds N] [--connections N]\n');
  process.exit(0);
}
ensureDeps();
const { default: autocannon } = await import('autocannon');
const { request } = await import('undici');

const TOKEN = 'bench-admin-token-0123456789';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'asyncgate-observability-bench-'));
const SDK = pathToFileURL(path.join(BENCH, 'lib', 'otel-sdk.mjs')).href;
const SIDES = [
  { name: 'off', args: ['--no-metrics'], preload: [] },
  { name: 'on', args: [], preload: [] },
  { name: 'on+sdk', args: [], preload: ['--import', SDK] },
];

/** What the tracing code costs a job when no SDK is registered: the functions every job runs, a million times. */
async function traceCostNs() {
  const { startAcceptSpan, startExecutionSpan, outgoingTraceparent, SpanKind } = await import(pathToFileURL(path.join(path.dirname(CLI), '..', 'engine', 'job-trace.js')).href);
  const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const n = 1_000_000;
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const job = { options: { trace: startAcceptSpan(i & 1 ? caller : undefined, undefined).trace } };
      outgoingTraceparent(job, 'link', startExecutionSpan(job, 'link', 'asyncgate upstream', SpanKind.CLIENT));
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  return best;
}

try {
  const upstream = await startServer('echo');
  for (const side of SIDES) {
    side.gateway = await startChild(
      `gateway (${side.name})`,
      [...side.preload, CLI, 'serve', '--upstream', upstream.url, '--port', '0', '--db', `sqlite:${path.join(tmp, `${side.name}.db`)}`, '--admin-token', TOKEN, '--max-queued', '1000000', ...side.args],
      { env: { ASYNCGATE_LOG_LEVEL: 'info' }, ready: (msg) => (msg.msg === 'asyncgate listening' ? msg.url : undefined) },
    );
  }
  const run = (base, prefer, status) =>
    new Promise((resolve, reject) =>
      autocannon(
        {
          url: `${base}/orders/bench`,
          method: 'POST',
          headers: { 'content-type': 'application/json', prefer },
          body: JSON.stringify({ order: 1, note: 'amber basil cedar' }),
          connections: Number(opt.connections),
          duration: Number(opt.duration),
        },
        (err, res) => (err ? reject(err) : resolve((res.statusCodeStats?.[status]?.count ?? 0) / res.duration)),
      ),
    );
  const settle = async (base) => {
    for (;;) {
      const health = await (await request(`${base}/_async/health`)).body.json();
      if (health.queued === 0 && health.running === 0) return;
      await sleep(250);
    }
  };
  const scraping = (side) => {
    const stop = new globalThis.AbortController();
    const done = (async () => {
      if (side.name === 'off') return;
      while (!stop.signal.aborted) {
        const res = await request(`${side.gateway.url}/_async/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => undefined);
        await res?.body.text();
        await sleep(1_000, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    })();
    return () => {
      stop.abort();
      return done;
    };
  };
  const measures = [
    { name: 'accept (202s/s)', prefer: 'respond-async', status: '202' },
    { name: 'end to end (200s/s, Prefer: wait)', prefer: 'respond-async, wait=10', status: '200' },
  ];
  const results = Object.fromEntries(measures.map((m) => [m.name, Object.fromEntries(SIDES.map((s) => [s.name, []]))]));
  for (const side of SIDES) {
    log(`warm-up: ${side.name}`);
    await run(side.gateway.url, 'respond-async', '202');
    await settle(side.gateway.url);
  }
  for (let r = 0; r < Number(opt.rounds); r++) {
    const order = SIDES.map((_, i) => SIDES[(i + r) % SIDES.length]);
    for (const m of measures) {
      log(`round ${r + 1}, ${m.name}: ${order.map((s) => s.name).join(', ')}`);
      for (const side of order) {
        const stopScraping = scraping(side);
        results[m.name][side.name].push(await run(side.gateway.url, m.prefer, m.status));
        await stopScraping();
        await settle(side.gateway.url);
      }
    }
  }

  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out = [];
  out.push(`# Observability bench: metrics and tracing on vs off`);
  out.push('');
  out.push(`${os.cpus()[0]?.model} × ${os.cpus().length}, Node ${process.version}. ${opt.rounds} rounds of ${opt.duration} s, ${opt.connections} connections, SQLite, echo upstream.`);
  out.push('');
  out.push('| measure | off (rounds) | off | on (rounds) | on | on vs off | on+sdk (rounds) | on+sdk | on+sdk vs off |');
  out.push('|---|---|---:|---|---:|---:|---|---:|---:|');
  for (const m of measures) {
    const x = results[m.name];
    const [off, on, sdk] = SIDES.map((s) => mean(x[s.name]));
    const pct = (v) => `${v >= off ? '+' : ''}${fmt(((v - off) / off) * 100, 1)} %`;
    const verdict = Math.abs(on - off) / off <= 0.03 || on > off ? 'PASS' : '**FAIL**';
    out.push(`| ${m.name} | ${x.off.map((v) => fmt(v)).join(', ')} | ${fmt(off)} | ${x.on.map((v) => fmt(v)).join(', ')} | ${fmt(on)} | ${pct(on)} (≤ 3 %: ${verdict}) | ${x['on+sdk'].map((v) => fmt(v)).join(', ')} | ${fmt(sdk)} | ${pct(sdk)} |`);
  }
  out.push('');
  out.push(`Tracing with no SDK registered, in this process (the accept's trace context, an attempt's span and its traceparent): ${fmt(await traceCostNs(), 0)} ns per job.`);
  out.push('');
  out.push('`on` is what every gateway does by default. `on+sdk` adds a real OpenTelemetry SDK recording every span (two per job here: accept and upstream; callbacks add one per attempt) and dropping it: the cost of recording, without an exporter.');
  process.stdout.write(out.join('\n') + '\n');
} finally {
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
}
