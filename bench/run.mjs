#!/usr/bin/env node
// asyncgate benchmark suite. `npm run bench` at the root builds, then runs this.
//
// Everything is on loopback. The load generator (autocannon, and an undici Pool for the sequential latency
// runs) lives in this process; every server is its own child process:
//   - the gateway: `node dist/cli/main.js serve --upstream ... --port 0 --db sqlite:<fresh temp file>`
//   - its upstream: bench/servers.mjs upstream (node:http, answers 200 at once)
//   - the ceiling:  bench/servers.mjs ceiling  (node:http, answers asyncgate's shapes with no storage)
//   - section D's callback receiver: bench/servers.mjs receiver (node:http, answers 200 at once, reports receipts)
//   - section D's baseline: bench/baseline-bullmq.mjs (Fastify + BullMQ on the local Redis + undici sender)
//
// Sections (each load is time-bounded; the whole run takes about 110 s with the defaults, plus the build),
// each in its own file under bench/sections/:
//   A. accept throughput: durable 202s/s through the gateway vs the ceiling's 202s/s      (accept.mjs)
//   A2. the same while every job holds the upstream for 30 s                              (accept.mjs)
//   B. status-monitor polls/s on a finished job: plain GET (200) and If-None-Match (304) (monitor.mjs)
//   C. synchronous pass-through: sequential latency p50/p90/p99 vs direct, and concurrent req/s (passthrough.mjs)
//   D. callbacks: D1 deliveries/s to a local receiver (a burst of jobs), D2 end-to-end jobs/s (accept →
//      upstream → callback acknowledged, closed loop) for asyncgate and for the Fastify + BullMQ baseline
//      (callbacks.mjs; its load generator is lib/callback-load.mjs, its report callbacks-report.mjs)
//   E. idle connections: RSS, heap and CPU of one gateway holding 5,000 event streams, then 5,000 long polls
//      (bench/idle-streams.mjs, run as a child after the others; about 90 s)                (idle.mjs)
// Shared helpers are in bench/lib/: options, child processes, CPU accounting, load, report, machine facts.
//
// A markdown report goes to stdout; progress goes to stderr. See `node bench/run.mjs --help`.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { busyBeforeRun } from './lib/cpu.mjs';
import { ensureDeps } from './lib/deps.mjs';
import { HELP, parseOptions, reportedSettings } from './lib/options.mjs';
import { CLI, log } from './lib/paths.mjs';
import { startServer, stopAll } from './lib/processes.mjs';
import { fmt } from './lib/stats.mjs';

const settings = parseOptions();
if (settings.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const loadAtStart = os.loadavg()[0];

/** The --cpu-prof files the run left in settings.cpuProfDir, each summarised (bench/cpuprofile-top.mjs). */
async function profiles(s) {
  const { summarise, formatSummary } = await import('./cpuprofile-top.mjs');
  const out = [];
  for (const label of ['accept', 'monitor', 'passthrough', 'callbacks', ...s.dPerHost.map((n) => `callbacks-perhost-${n}`)]) {
    const file = path.join(s.cpuProfDir, `gateway-${label}.cpuprofile`);
    if (!existsSync(file)) continue;
    const sum = summarise(JSON.parse(readFileSync(file, 'utf8')), 20);
    out.push({ label, file, summary: sum, text: formatSummary(sum, `gateway, section ${label} (${file})`) });
  }
  const baseFile = path.join(s.cpuProfDir, 'baseline-bullmq.cpuprofile');
  if (existsSync(baseFile)) {
    const sum = summarise(JSON.parse(readFileSync(baseFile, 'utf8')), 20);
    out.push({ label: 'baseline-bullmq', file: baseFile, summary: sum, text: formatSummary(sum, `baseline (Fastify + BullMQ), section D (${baseFile})`) });
  }
  return out;
}

async function main() {
  const s = settings;
  ensureDeps();
  // Everything below needs bench/node_modules (autocannon, undici, …): imported once they are installed.
  const [{ sectionAccept, sectionAcceptLong }, { sectionMonitor }, { sectionPassThrough }, { sectionCallbacks }, { sectionIdle }, { report }, { machineInfo }] =
    await Promise.all([
      import('./sections/accept.mjs'),
      import('./sections/monitor.mjs'),
      import('./sections/passthrough.mjs'),
      import('./sections/callbacks.mjs'),
      import('./sections/idle.mjs'),
      import('./lib/report.mjs'),
      import('./lib/machine.mjs'),
    ]);
  if (!existsSync(CLI)) throw new Error(`${path.relative(process.cwd(), CLI)} is missing: run "npm run build" first (or "npm run bench")`);

  const busyBefore = await busyBeforeRun();

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'asyncgate-bench-'));
  const dbFile = path.join(tmp, 'jobs.db');
  const started = Date.now();
  log(`temp SQLite file ${dbFile}`);
  try {
    const [upstream, ceiling] = await Promise.all([startServer('upstream'), startServer('ceiling')]);
    const ctx = { settings: s, upstream, ceiling, dbFile, tmpDir: tmp };
    const want = (x) => s.sections.has(x);
    // A2 is reported against A's ceiling figure: asking for A2 runs A too.
    const accept = want('A') || want('A2') ? await sectionAccept(ctx) : undefined;
    const acceptLong = want('A2') ? await sectionAcceptLong(ctx, accept.baseline) : undefined;
    const monitor = want('B') ? await sectionMonitor(ctx) : undefined;
    const passthrough = want('C') ? await sectionPassThrough(ctx) : undefined;
    const callbacks = want('D') ? await sectionCallbacks(ctx) : undefined;
    await stopAll();

    const results = {
      when: new Date().toISOString(),
      machine: machineInfo({ tmpDir: tmp, loadAtStart, busyBefore }),
      settings: reportedSettings(s),
      accept,
      acceptLong,
      monitor,
      passthrough,
      callbacks,
      elapsedS: (Date.now() - started) / 1000,
    };
    if (s.cpuProfDir) results.profiles = await profiles(s);
    process.stdout.write(`${report(results)}\n`);
    if (want('E')) process.stdout.write(`\n${sectionIdle()}`);
    log(`done in ${fmt(results.elapsedS, 1)} s`);
    if (s.json) writeFileSync(s.json, `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch(async (error) => {
  process.stderr.write(`[bench] failed: ${error.stack ?? error}\n`);
  await stopAll();
  process.exitCode = 1;
});
