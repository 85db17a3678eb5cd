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
// Sections (each load is time-bounded; the whole run takes about 110 s with the defaults, plus the build):
//   A. accept throughput: durable 202s/s through the gateway vs the ceiling's 202s/s
//   B. status-monitor polls/s on a finished job: plain GET (200) and If-None-Match (304)
//   C. synchronous pass-through: sequential latency p50/p90/p99 vs direct, and concurrent req/s
//   D. callbacks: D1 deliveries/s to a local receiver (a burst of jobs), D2 end-to-end jobs/s (accept →
//      upstream → callback acknowledged, closed loop) for asyncgate and for the Fastify + BullMQ baseline
//   E. idle connections: RSS, heap and CPU of one gateway holding 5,000 event streams, then 5,000 long polls
//      (bench/idle-streams.mjs, run as a child after the others; about 90 s)
//
// A markdown report goes to stdout; progress goes to stderr. See `node bench/run.mjs --help`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const SERVERS = path.join(BENCH, 'servers.mjs');
const PROBE = path.join(BENCH, 'gateway-probe.mjs');
const BASELINE = path.join(BENCH, 'baseline-bullmq.mjs');

const HELP = `Usage: node bench/run.mjs [options]     (or: npm run bench, which builds first)

  --duration S          seconds per measured load (default 6)
  --warmup S            seconds of un-measured load before each (default 1)
  --connections N       autocannon connections (default 50)
  --requests N          sequential pass-through requests per target (default 3000)
  --warmup-requests N   sequential warm-up requests per target (default 300)
  --max-queued N        pass --max-queued N to the gateway (default 10000000: the accept sections measure
                        accepting, and a sustained accept rate above the execution rate would otherwise
                        fill the default queue of 10000 within seconds and turn into 503s)
  --no-probe            run the gateway without bench/gateway-probe.mjs (no batch / event-loop figures)
  --cpu-prof DIR        run each gateway child under --cpu-prof, write profiles to DIR, print top functions
                        (profiling slows the gateway: use it to look, not for the headline numbers)
  --sections LIST       which sections to run (default A,A2,B,C,D,E)
  --d-jobs N            D1: jobs in the callback burst (default 3000, after 300 warm-up jobs)
  --e2e-inflight N      D2: jobs kept in flight end to end (default 50); D2 runs --warmup + --duration seconds
  --drain S             D: longest wait for outstanding callbacks after a load (default 20)
  --d-per-host LIST     D: also run asyncgate with callbacks.perHost (and callbacks.concurrency) raised to each N
                        of LIST through a --config file, as info rows (default 64; "none" for none). The
                        headline asyncgate figures always use the gateway's defaults (perHost 4, concurrency 32)
  --no-baseline         D: skip the Fastify + BullMQ baseline (needs Redis on --redis)
  --redis URL           D: the baseline's Redis (default redis://127.0.0.1:6379)
  --json FILE           also write all results as JSON
  -h, --help
`;

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    requests: { type: 'string', default: '3000' },
    'warmup-requests': { type: 'string', default: '300' },
    'max-queued': { type: 'string', default: '10000000' },
    'no-probe': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    sections: { type: 'string', default: 'A,A2,B,C,D,E' },
    'd-jobs': { type: 'string', default: '3000' },
    'e2e-inflight': { type: 'string', default: '50' },
    drain: { type: 'string', default: '20' },
    'no-baseline': { type: 'boolean', default: false },
    'd-per-host': { type: 'string', default: '64' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const DURATION = Number(opt.duration);
const WARMUP = Number(opt.warmup);
const CONNECTIONS = Number(opt.connections);
const SEQ_REQUESTS = Number(opt.requests);
const SEQ_WARMUP = Number(opt['warmup-requests']);
const PROBE_ON = !opt['no-probe'];
const CPU_PROF_DIR = opt['cpu-prof'] ? path.resolve(opt['cpu-prof']) : undefined;
const SECTIONS = new Set(opt.sections.split(',').map((x) => x.trim().toUpperCase()));
const D_JOBS = Number(opt['d-jobs']);
const E2E_INFLIGHT = Number(opt['e2e-inflight']);
const DRAIN_S = Number(opt.drain);
const D_PER_HOST = opt['d-per-host'] === 'none' ? [] : opt['d-per-host'].split(',').map(Number).filter((n) => n > 0);

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

// ---------------------------------------------------------------------------------------------------------
// 1. Dependencies: bench/ has its own package.json; install it on first use.

const BENCH_DEPS = ['autocannon', 'undici', 'fastify', 'bullmq', 'ioredis'];

function ensureDeps() {
  if (BENCH_DEPS.every((dep) => existsSync(path.join(BENCH, 'node_modules', dep, 'package.json')))) return;
  log('installing bench dependencies (npm install in bench/) ...');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], {
    cwd: BENCH,
    stdio: ['ignore', 2, 2],
    shell: process.platform === 'win32',
  });
  if (r.status !== 0) throw new Error(`npm install in bench/ failed (exit ${r.status ?? r.signal})`);
}

// ---------------------------------------------------------------------------------------------------------
// 2. Child processes: started here, always stopped here (SIGTERM, then SIGKILL), even on error.

const children = new Set();

function startChild(name, args, { env = {}, ready, onLine }) {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'], // stdin stays open: the servers (and the probe) exit when it closes
  });
  const child = { name, proc, url: undefined, tail: [], warnings: 0, probeWaiters: [], exited: false };
  children.add(child);
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  child.exitedPromise = exited.then((r) => {
    child.exited = true;
    children.delete(child);
    return r;
  });
  const keep = (line) => {
    child.tail.push(line);
    if (child.tail.length > 40) child.tail.shift();
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 15 s:\n${child.tail.join('\n')}`)), 15_000);
    readline.createInterface({ input: proc.stdout }).on('line', (line) => {
      if (onLine && line.charCodeAt(0) === 64 /* @ */) return onLine(line); // the receiver's receipts
      keep(line);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof msg.level === 'number' && msg.level >= 40) child.warnings++;
      const url = ready(msg);
      if (url && !child.url) {
        child.url = url;
        clearTimeout(timer);
        resolve(child);
      }
    });
    readline.createInterface({ input: proc.stderr }).on('line', (line) => {
      if (line.startsWith('{"asyncgateBenchProbe"')) {
        const w = child.probeWaiters.shift();
        if (w) w(JSON.parse(line).asyncgateBenchProbe);
        return;
      }
      keep(line);
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (!child.url) reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${child.tail.join('\n')}`));
    });
  });
}

async function stopChild(child, timeoutMs = 8_000) {
  if (!child || child.exited) return;
  child.proc.kill('SIGTERM');
  const res = await Promise.race([child.exitedPromise, sleep(timeoutMs, null, { ref: false })]);
  if (res === null && !child.exited) {
    log(`${child.name} did not stop in ${timeoutMs} ms; SIGKILL`);
    child.proc.kill('SIGKILL');
    await child.exitedPromise;
  }
}

async function stopAll() {
  await Promise.all([...children].map((c) => stopChild(c)));
}

process.on('exit', () => {
  for (const c of children) c.proc.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: stopping child processes`);
    stopAll().finally(() => process.exit(130));
  });
}

const startServer = (mode) =>
  startChild(mode, [SERVERS, mode], { ready: (msg) => msg.listening });

function startGateway(upstreamUrl, dbFile, label, extraArgs = []) {
  const args = [];
  if (PROBE_ON) args.push('--import', pathToFileURL(PROBE).href);
  if (CPU_PROF_DIR) args.push('--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR, '--cpu-prof-name', `gateway-${label}.cpuprofile`);
  args.push(CLI, 'serve', '--upstream', upstreamUrl, '--port', '0', '--db', `sqlite:${dbFile}`);
  if (opt['max-queued']) args.push('--max-queued', opt['max-queued']);
  args.push(...extraArgs);
  return startChild(`gateway (${label})`, args, {
    env: { ASYNCGATE_LOG_LEVEL: 'info' },
    ready: (msg) => (msg.msg === 'asyncgate listening' ? msg.url : undefined),
  });
}

/** The probe's counters since the previous call (SIGUSR2 → one JSON line on the child's stderr). */
function probe(gateway) {
  if (!PROBE_ON || gateway.exited) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 2_000);
    gateway.probeWaiters.push((s) => {
      clearTimeout(timer);
      resolve(s);
    });
    gateway.proc.kill('SIGUSR2');
  });
}

// ---------------------------------------------------------------------------------------------------------
// 3. CPU accounting from /proc (Linux): per child, this process, and the whole machine.

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function procCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime + stime
  } catch {
    return NaN;
  }
}

function machineTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, idle: f[3] + f[4] };
  } catch {
    return null;
  }
}

/** Run `fn` and report CPU use over it: each named process as % of one core, the machine as % of all cores. */
async function withCpu(procs, fn) {
  const t0 = process.hrtime.bigint();
  const before = Object.fromEntries(Object.entries(procs).map(([k, c]) => [k, procCpuMs(c.proc.pid)]));
  const self0 = process.cpuUsage();
  const m0 = machineTicks();
  const result = await fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const self = process.cpuUsage(self0);
  const m1 = machineTicks();
  const cpu = { 'load generator (bench)': (100 * (self.user + self.system)) / 1000 / wallMs };
  for (const [k, c] of Object.entries(procs)) cpu[k] = (100 * (procCpuMs(c.proc.pid) - before[k])) / wallMs;
  if (m0 && m1) {
    cpu.machine = 100 * (1 - (m1.idle - m0.idle) / (m1.total - m0.total));
    // Everything else on the machine (other users' jobs, the kernel's softirq work not charged to us), in
    // % of one core: a sanity check that the run had the machine to itself.
    const ours = Object.entries(cpu).filter(([k]) => k !== 'machine').reduce((a, [, v]) => a + v, 0);
    cpu.others = Math.max(0, (cpu.machine * os.cpus().length) - ours);
  }
  return { result, cpu, wallMs };
}

// ---------------------------------------------------------------------------------------------------------
// 4. Load helpers.

let autocannon;
let Pool;
let fetch;
let tmpDir = os.tmpdir();
const loadAtStart = os.loadavg()[0];
let busyBefore = NaN;

function cannon(o) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, pipelining: 1, timeout: 10, ...o }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** A warm-up load (not measured), then the measured one. */
async function load(o) {
  if (WARMUP > 0) await cannon({ ...o, duration: WARMUP });
  return cannon({ ...o, duration: DURATION });
}

const count = (res, code) => res.statusCodeStats?.[code]?.count ?? 0;
const perSec = (n, res) => n / res.duration;

/** The figures we keep from one autocannon result. */
function summary(res, expectStatus) {
  const expected = count(res, expectStatus);
  return {
    rps: perSec(expected, res),
    total: res.requests.total,
    expected,
    non2xx: res.non2xx,
    statusCodes: Object.fromEntries(Object.entries(res.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    errors: res.errors,
    timeouts: res.timeouts,
    latencyMs: { p50: res.latency.p50, p90: res.latency.p90, p99: res.latency.p99, max: res.latency.max },
    durationS: res.duration,
  };
}

async function getJson(url, headers = {}) {
  const r = await fetch(url, { headers });
  const body = await r.text();
  return { status: r.status, headers: r.headers, json: body ? JSON.parse(body) : undefined };
}

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// ---------------------------------------------------------------------------------------------------------
// 5. The sections.

const ACCEPT_BODY = JSON.stringify({ order: 12345, items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }] });
const ACCEPT_REQUEST = {
  method: 'POST',
  headers: { 'content-type': 'application/json', prefer: 'respond-async' },
  body: ACCEPT_BODY,
};

async function upstreamSeen(upstream) {
  return (await getJson(`${upstream.url}/__bench/stats`)).json.requests;
}

async function sectionAccept(ctx) {
  const { ceiling, upstream } = ctx;
  log(`A. accept throughput: ceiling (raw node:http 202, no storage), c=${CONNECTIONS}, ${DURATION} s`);
  const base = await withCpu({ ceiling }, () => load({ url: `${ceiling.url}/work`, ...ACCEPT_REQUEST }));

  const gateway = await startGateway(upstream.url, ctx.dbFile, 'accept');
  log(`A. accept throughput: asyncgate ${gateway.url} (the upstream executes the jobs meanwhile)`);
  const seenStart = await upstreamSeen(upstream);
  let accepted = 0;
  if (WARMUP > 0) accepted += count(await cannon({ url: `${gateway.url}/work`, ...ACCEPT_REQUEST, duration: WARMUP }), 202);
  const seen0 = await upstreamSeen(upstream);
  await probe(gateway);
  const gw = await withCpu({ gateway, upstream }, () => cannon({ url: `${gateway.url}/work`, ...ACCEPT_REQUEST, duration: DURATION }));
  const probeStats = await probe(gateway);
  const seen1 = await upstreamSeen(upstream);
  const health = (await getJson(`${gateway.url}/_async/health`)).json;
  accepted += count(gw.result, 202);

  // Let the backlog drain (bounded), so that it does not disturb what follows: every accepted job has
  // reached the upstream and nothing is running.
  log(`A. waiting for the backlog to drain (${accepted - (seen1 - seenStart)} jobs not yet sent upstream)`);
  const drainStart = Date.now();
  let executed = seen1 - seenStart;
  let drained = false;
  while (Date.now() - drainStart < 30_000) {
    executed = (await upstreamSeen(upstream)) - seenStart;
    const h = (await getJson(`${gateway.url}/_async/health`)).json;
    if (executed >= accepted && h.running === 0) {
      drained = true;
      break;
    }
    await sleep(100);
  }
  const drainMs = Date.now() - drainStart;
  const drainProbe = await probe(gateway);
  await stopChild(gateway);
  return {
    baseline: { ...summary(base.result, 202), cpu: base.cpu },
    gateway: { ...summary(gw.result, 202), cpu: gw.cpu, warnings: gateway.warnings },
    executedDuringRun: seen1 - seen0,
    executedPerSec: (seen1 - seen0) / (gw.wallMs / 1000),
    healthAfterRun: health,
    drain: { ms: drainMs, drained, accepted, executed },
    probe: probeStats,
    drainProbe,
  };
}

/** A2: accept while every job holds the upstream for 30 s (long-running work: what asyncgate is for). */
async function sectionAcceptLong(ctx, baseline) {
  const { upstream } = ctx;
  const gateway = await startGateway(upstream.url, ctx.dbFile + '-long', 'accept-long');
  const url = `${gateway.url}/work?ms=30000`;
  log(`A2. accept throughput with 30 s jobs: asyncgate ${gateway.url}`);
  if (WARMUP > 0) await cannon({ url, ...ACCEPT_REQUEST, duration: WARMUP });
  await probe(gateway);
  const gw = await withCpu({ gateway, upstream }, () => cannon({ url, ...ACCEPT_REQUEST, duration: DURATION }));
  const probeStats = await probe(gateway);
  // The jobs would run for 30 s more: no drain; a hard stop (they are durable and would resume).
  gateway.proc.kill('SIGKILL');
  await gateway.exitedPromise;
  return { baseline, gateway: { ...summary(gw.result, 202), cpu: gw.cpu, warnings: gateway.warnings }, probe: probeStats };
}

async function sectionMonitor(ctx) {
  const { ceiling, upstream } = ctx;
  const gateway = await startGateway(upstream.url, ctx.dbFile, 'monitor');
  log('B. status monitor: creating one job and waiting for it to finish');
  const created = await fetch(`${gateway.url}/work`, { ...ACCEPT_REQUEST });
  if (created.status !== 202) throw new Error(`expected 202 from the gateway, got ${created.status}: ${await created.text()}`);
  const { id } = await created.json();
  const monitorUrl = `${gateway.url}/_async/jobs/${id}`;
  let job;
  const deadline = Date.now() + 15_000;
  for (;;) {
    job = await getJson(monitorUrl);
    if (job.json?.status === 'Succeeded') break;
    if (['Failed', 'Canceled'].includes(job.json?.status) || Date.now() > deadline) {
      throw new Error(`job ${id} did not succeed: ${job.status} ${JSON.stringify(job.json)}`);
    }
    await sleep(20);
  }
  const etag = job.headers.get('etag');
  const check304 = await fetch(monitorUrl, { headers: { 'if-none-match': etag } });
  await check304.arrayBuffer();
  if (check304.status !== 304) throw new Error(`If-None-Match: ${etag} answered ${check304.status}, not 304`);
  const baseMonitor = `${ceiling.url}/_async/jobs/${id}`;

  log(`B. monitor GET polls: ceiling, then asyncgate, c=${CONNECTIONS}, ${DURATION} s each`);
  const base200 = await withCpu({ ceiling }, () => load({ url: baseMonitor }));
  await probe(gateway);
  const gw200 = await withCpu({ gateway }, () => load({ url: monitorUrl }));
  const probe200 = await probe(gateway);
  log('B. monitor If-None-Match polls (304): ceiling, then asyncgate');
  const base304 = await withCpu({ ceiling }, () => load({ url: baseMonitor, headers: { 'if-none-match': '"3"' } }));
  await probe(gateway);
  const gw304 = await withCpu({ gateway }, () => load({ url: monitorUrl, headers: { 'if-none-match': etag } }));
  const probe304 = await probe(gateway);
  await stopChild(gateway);
  return {
    jobId: id,
    etag,
    monitorBytes: JSON.stringify(job.json).length,
    get: { gateway: { ...summary(gw200.result, 200), cpu: gw200.cpu, probe: probe200 }, baseline: { ...summary(base200.result, 200), cpu: base200.cpu } },
    inm: { gateway: { ...summary(gw304.result, 304), cpu: gw304.cpu, probe: probe304 }, baseline: { ...summary(base304.result, 304), cpu: base304.cpu } },
    warnings: gateway.warnings,
  };
}

async function sequential(pool, n, errors) {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const { statusCode, body } = await pool.request({ path: '/ok', method: 'GET' });
    await body.dump();
    out[i] = Number(process.hrtime.bigint() - t0) / 1000; // µs
    if (statusCode !== 200) errors.push(statusCode);
  }
  return out;
}

async function sectionPassThrough(ctx) {
  const { upstream } = ctx;
  const gateway = await startGateway(upstream.url, ctx.dbFile, 'passthrough');
  const direct = new Pool(upstream.url, { connections: 1, pipelining: 1 });
  const via = new Pool(gateway.url, { connections: 1, pipelining: 1 });
  log(`C. pass-through latency: ${SEQ_WARMUP} warm-up + ${SEQ_REQUESTS} sequential GET /ok each, interleaved`);
  const errors = [];
  const d = [];
  const g = [];
  // Interleave in blocks of 100, alternating which goes first, so drift hits both alike.
  const block = 100;
  const seq = await withCpu({ gateway, upstream }, async () => {
    for (const [n, keep] of [[SEQ_WARMUP, false], [SEQ_REQUESTS, true]]) {
      for (let done = 0, k = 0; done < n; done += block, k++) {
        const m = Math.min(block, n - done);
        const order = k % 2 === 0 ? [[direct, d], [via, g]] : [[via, g], [direct, d]];
        for (const [pool, sink] of order) {
          const samples = await sequential(pool, m, errors);
          if (keep) sink.push(...samples);
        }
      }
    }
  });
  await Promise.all([direct.close(), via.close()]);
  const stats = (arr) => {
    const s = Float64Array.from(arr).sort();
    const ms = (us) => Math.round(us) / 1000;
    return { n: s.length, p50: ms(percentile(s, 0.5)), p90: ms(percentile(s, 0.9)), p99: ms(percentile(s, 0.99)), max: ms(s[s.length - 1]) };
  };
  log(`C. pass-through concurrent GET /ok: direct, then asyncgate, c=${CONNECTIONS}, ${DURATION} s each`);
  const cd = await withCpu({ upstream }, () => load({ url: `${upstream.url}/ok` }));
  await probe(gateway);
  const cg = await withCpu({ gateway, upstream }, () => load({ url: `${gateway.url}/ok` }));
  const probeConc = await probe(gateway);
  await stopChild(gateway);
  return {
    sequential: { gateway: stats(g), direct: stats(d), errors: errors.length, cpu: seq.cpu },
    concurrent: { gateway: { ...summary(cg.result, 200), cpu: cg.cpu, probe: probeConc }, direct: { ...summary(cd.result, 200), cpu: cd.cpu } },
    warnings: gateway.warnings,
  };
}

// ---------------------------------------------------------------------------------------------------------
// 5b. Section D: callbacks. asyncgate against a baseline built the common way (bench/baseline-bullmq.mjs:
// Fastify + BullMQ on the local Redis + an undici sender), both POSTing the upstream's response to the same
// receiver (bench/servers.mjs receiver), signed with the same Standard Webhooks secret. Each job's callback
// URL is <receiver>/cb/<tag>/<seq>: the receiver reports every receipt (and whether its signature verified)
// on its stdout, which is how this process knows when a job's callback was acknowledged.

const D_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const nowMs = () => performance.timeOrigin + performance.now(); // epoch ms, µs precision (as the receiver's)

const receipts = { sinks: new Map(), unknown: 0 };
function onReceipt(line) {
  const [, tag, seq, at, ok] = line.split(' '); // "@cb <tag> <seq> <epoch ms> <1|0>"
  const sink = receipts.sinks.get(tag);
  if (sink) sink(Number(seq), Number(at), ok === '1');
  else receipts.unknown++;
}

const startReceiver = () =>
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

/** Submits jobs (POST /work, Pragma: redirect, Callback: <receiver/cb/tag/seq>) over a keep-alive pool. */
function submitter(baseUrl, receiverUrl, connections) {
  const pool = new Pool(baseUrl, { connections, pipelining: 1 });
  return {
    async submit(t, seq) {
      t.submitted.set(seq, nowMs());
      try {
        const { statusCode, body } = await pool.request({
          method: 'POST',
          path: '/work',
          headers: { 'content-type': 'application/json', pragma: 'redirect', callback: `<${receiverUrl}/cb/${t.tag}/${seq}>` },
          body: ACCEPT_BODY,
        });
        await body.dump();
        if (statusCode === 202) {
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

async function waitFor(cond, ms) {
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

const rejectedCount = (t) => Object.values(t.rejected).reduce((a, b) => a + b, 0);

/** D1: a warm-up burst, then a burst of D_JOBS; deliveries/s from the first to the last receipt. */
async function runD1(sub, procs, probeFn) {
  const w = tracker('w');
  await burst(sub, w, Math.min(300, D_JOBS), E2E_INFLIGHT);
  await waitFor(() => w.received.size >= w.accepted, DRAIN_S * 1000);
  const t = tracker('d1');
  await probeFn();
  const started = nowMs();
  let submitMs = NaN;
  let drained = false;
  const run = await withCpu(procs, async () => {
    await burst(sub, t, D_JOBS, E2E_INFLIGHT);
    submitMs = nowMs() - started;
    drained = await waitFor(() => t.received.size >= t.accepted, DRAIN_S * 1000);
  });
  const probeStats = await probeFn();
  const n = t.received.size;
  return {
    jobs: D_JOBS,
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
    probe: probeStats,
  };
}

/**
 * D2: closed loop. E2E_INFLIGHT jobs are kept in flight end to end: a new job is submitted when a callback
 * arrives. WARMUP s un-measured, then DURATION s measured: jobs/s = callbacks received in the measured window
 * per second. Then submission stops and the jobs still out are waited for (at most DRAIN_S).
 */
async function runD2(sub, procs, probeFn) {
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
  for (let i = 0; i < E2E_INFLIGHT; i++) launch();
  await sleep(WARMUP * 1000);
  await probeFn();
  const from = nowMs();
  const accepted0 = t.accepted;
  const run = await withCpu(procs, () => sleep(DURATION * 1000));
  const to = nowMs();
  const accepted1 = t.accepted;
  open = false;
  const probeStats = await probeFn();
  const drainStart = Date.now();
  const drained = await waitFor(() => inflight <= 0, DRAIN_S * 1000);
  const drainMs = Date.now() - drainStart;
  let inWindow = 0;
  for (const at of t.received.values()) if (at >= from && at < to) inWindow++;
  return {
    inflight: E2E_INFLIGHT,
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
    probe: probeStats,
  };
}

const packageVersion = (name) => {
  try {
    return JSON.parse(readFileSync(path.join(BENCH, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'missing';
  }
};

/** D1 and D2 against a fresh gateway (its own SQLite file); perHost: raise callbacks.perHost/concurrency to it. */
async function callbacksAsyncgate(ctx, receiver, label, perHost) {
  const { upstream } = ctx;
  const extra = ['--allow-callback-hosts', '127.0.0.1', '--signing-secret', D_SECRET];
  let config;
  if (perHost) {
    config = { callbacks: { perHost, concurrency: Math.max(perHost, 32) } };
    const file = path.join(tmpDir, `${label}.json`);
    writeFileSync(file, JSON.stringify(config));
    extra.push('--config', file);
  }
  const name = perHost ? `asyncgate (callbacks.perHost ${perHost})` : 'asyncgate';
  const gateway = await startGateway(upstream.url, path.join(tmpDir, `${label}.db`), label, extra);
  const sub = submitter(gateway.url, receiver.url, E2E_INFLIGHT);
  const procs = { system: gateway, upstream, receiver };
  const probeFn = () => probe(gateway);
  log(`D1. callbacks: ${name} ${gateway.url}, 300 warm-up jobs, then a burst of ${D_JOBS} (${E2E_INFLIGHT} submissions in flight) to the receiver ${receiver.url}`);
  const d1 = await runD1(sub, procs, probeFn);
  log(`D2. end to end: ${name}, ${E2E_INFLIGHT} jobs in flight (closed loop), ${WARMUP} s + ${DURATION} s`);
  const d2 = await runD2(sub, procs, probeFn);
  const health = (await getJson(`${gateway.url}/_async/health`)).json;
  await sub.close();
  await stopChild(gateway);
  return { name, perHost: perHost ?? null, config: config ?? null, d1, d2, health, warnings: gateway.warnings };
}

async function sectionCallbacks(ctx) {
  const { upstream } = ctx;
  const receiver = await startReceiver();
  const out = { receiverUrl: receiver.url };
  out.versions = { fastify: packageVersion('fastify'), bullmq: packageVersion('bullmq'), ioredis: packageVersion('ioredis'), undici: packageVersion('undici') };
  try {
    out.asyncgate = await callbacksAsyncgate(ctx, receiver, 'callbacks', undefined);
    out.tuned = [];
    for (const n of D_PER_HOST) out.tuned.push(await callbacksAsyncgate(ctx, receiver, `callbacks-perhost-${n}`, n));

    if (!opt['no-baseline']) {
      const queue = `asyncgate-bench-${process.pid}-${Date.now().toString(36)}`;
      const args = [];
      if (CPU_PROF_DIR) args.push('--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR, '--cpu-prof-name', 'baseline-bullmq.cpuprofile');
      args.push(BASELINE, '--upstream', upstream.url, '--secret', D_SECRET, '--queue', queue, '--redis', opt.redis);
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
        const bsub = submitter(base.url, receiver.url, E2E_INFLIGHT);
        const bprocs = { system: base, upstream, receiver };
        if (Number.isInteger(facts.redis?.pid) && existsSync(`/proc/${facts.redis.pid}/stat`)) bprocs.redis = { proc: { pid: facts.redis.pid } };
        const noProbe = async () => null;
        log(`D1. callbacks: baseline (Fastify + BullMQ queue "${queue}" on ${opt.redis} + undici) ${base.url}`);
        const bd1 = await runD1(bsub, bprocs, noProbe);
        log(`D2. end to end: baseline, ${E2E_INFLIGHT} jobs in flight (closed loop), ${WARMUP} s + ${DURATION} s`);
        const bd2 = await runD2(bsub, bprocs, noProbe);
        await bsub.close();
        log('D. stopping the baseline (it obliterates its queue)');
        await stopChild(base, 30_000);
        await waitFor(() => cleanup, 1_000);
        out.baseline = { d1: bd1, d2: bd2, queue, redis: facts.redis, cleanup: cleanup ?? null, warnings: base.warnings };
      } catch (error) {
        log(`D. baseline failed: ${error.message}`);
        if (base) await stopChild(base, 30_000);
        const lines = String(error.message).split('\n').map((x) => x.trim()).filter(Boolean);
        out.baseline = { error: [...new Set([lines[0], ...lines.slice(1).filter((x) => /error/i.test(x)).slice(-1)])].join(' … '), queue, cleanup: cleanup ?? null };
      }
    }
  } finally {
    await stopChild(receiver);
  }
  out.unknownReceipts = receipts.unknown;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// 6. Report.

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
const ms3 = (n) => `${fmt(n, 3)} ms`;
const verdict = (ok) => (ok ? 'PASS' : '**FAIL**');

/** What one small write + fsync costs in the folder holding the SQLite file (the floor of a group commit). */
function fsyncLatency(dir, n = 200) {
  const file = path.join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(4096, 1);
  const t = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, buf, 0, buf.length, (i % 16) * 4096);
      fsyncSync(fd);
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  t.sort((x, y) => x - y);
  return { p50: percentile(t, 0.5), p99: percentile(t, 0.99) };
}

function machineInfo() {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (+ uncommitted changes in src/)';
  } catch {
    // not a git checkout
  }
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    ramGiB: os.totalmem() / 2 ** 30,
    loadAvgAtStart: loadAtStart,
    busyBeforePct: busyBefore,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    asyncgate: `${pkg.version} @ ${commit}`,
    fsyncMs: fsyncLatency(tmpDir),
    autocannon: JSON.parse(readFileSync(path.join(BENCH, 'node_modules', 'autocannon', 'package.json'), 'utf8')).version,
  };
}

const statusList = (s) => Object.entries(s.statusCodes).map(([k, v]) => `${v}×${k}`).join(', ') || 'none';
const cleanRun = (s) => s.errors === 0 && s.timeouts === 0 && s.expected === s.total;

function report(r) {
  const L = [];
  const m = r.machine;
  L.push('## asyncgate benchmark', '');
  L.push(`Machine: ${m.cpu}, ${m.cores} cores, ${fmt(m.ramGiB, 1)} GiB RAM, Node ${m.node}, ${m.os}. ` +
    `4 KiB write + fsync in the SQLite file's folder: p50 ${fmt(m.fsyncMs.p50, 2)} ms, p99 ${fmt(m.fsyncMs.p99, 2)} ms. Load average (1 min) when the run started: ${fmt(m.loadAvgAtStart, 2)}; machine ${fmt(m.busyBeforePct)}% busy in the second before it.`);
  L.push(`asyncgate ${m.asyncgate}; autocannon ${m.autocannon}; ${r.settings.connections} connections, ` +
    `${r.settings.duration} s per load after ${r.settings.warmup} s warm-up; load generator in the bench process, each server its own process, all on loopback.` +
    (r.settings.probe ? ' Gateway run with bench/gateway-probe.mjs preloaded.' : ' Gateway run without the probe.') +
    (r.settings.maxQueued ? ` **Gateway run with --max-queued ${r.settings.maxQueued} (not the default 10000).**` : '') +
    (r.settings.cpuProf ? ' **Gateway under --cpu-prof: numbers are slowed by profiling.**' : ''));
  L.push('');

  const a = r.accept;
  const al = r.acceptLong;
  const b = r.monitor;
  const c = r.passthrough;

  if (a || b || c) {
    L.push('| benchmark | asyncgate | baseline | ratio / overhead | target | result |', '|---|---:|---:|---:|---|---|');
  }
  if (a) {
    const acceptRatio = a.gateway.rps / a.baseline.rps;
    const acceptClean = a.gateway.non2xx === 0 && a.gateway.errors === 0 && a.gateway.timeouts === 0;
    L.push(`| A. accept: durable 202/s (POST /work, \`Prefer: respond-async\`) | ${fmt(a.gateway.rps)} | ${fmt(a.baseline.rps)} (raw node:http 202, no storage) | ${fmt(acceptRatio, 2)}× | ≥ 0.60× | ${verdict(acceptRatio >= 0.6)} |`);
    L.push(`| A. accept: non-2xx / errors / timeouts | ${a.gateway.non2xx} / ${a.gateway.errors} / ${a.gateway.timeouts} | ${a.baseline.non2xx} / ${a.baseline.errors} / ${a.baseline.timeouts} | | 0 | ${verdict(acceptClean)} |`);
    L.push(`| A. accept: latency p50 / p99 | ${fmt(a.gateway.latencyMs.p50)} / ${fmt(a.gateway.latencyMs.p99)} ms | ${fmt(a.baseline.latencyMs.p50)} / ${fmt(a.baseline.latencyMs.p99)} ms | | | info |`);
    L.push(`| A. jobs executed against the upstream during the run | ${fmt(a.executedPerSec)}/s | | | | info |`);
  }
  if (al) {
    const longRatio = al.gateway.rps / al.baseline.rps;
    const longClean = al.gateway.non2xx === 0 && al.gateway.errors === 0 && al.gateway.timeouts === 0;
    L.push(`| A2. accept with 30 s jobs: durable 202/s | ${fmt(al.gateway.rps)} | ${fmt(al.baseline.rps)} (same ceiling) | ${fmt(longRatio, 2)}× | ≥ 0.60× | ${verdict(longRatio >= 0.6)} |`);
    L.push(`| A2. non-2xx / errors / timeouts; latency p50 / p99 | ${al.gateway.non2xx} / ${al.gateway.errors} / ${al.gateway.timeouts}; ${fmt(al.gateway.latencyMs.p50)} / ${fmt(al.gateway.latencyMs.p99)} ms | | | 0 | ${verdict(longClean)} |`);
  }
  if (b) {
    L.push(`| B. monitor polls/s (GET, 200, finished job) | ${fmt(b.get.gateway.rps)} | ${fmt(b.get.baseline.rps)} (raw node:http 200) | ${fmt(b.get.gateway.rps / b.get.baseline.rps, 2)}× | all 200, no errors | ${verdict(cleanRun(b.get.gateway))} |`);
    L.push(`| B. monitor polls/s (\`If-None-Match\`, 304) | ${fmt(b.inm.gateway.rps)} | ${fmt(b.inm.baseline.rps)} (raw node:http 304) | ${fmt(b.inm.gateway.rps / b.inm.baseline.rps, 2)}× | all 304, no errors | ${verdict(cleanRun(b.inm.gateway))} |`);
  }
  if (c) {
    const overhead = c.sequential.gateway.p50 - c.sequential.direct.p50;
    L.push(`| C. pass-through p50 (sequential, keep-alive) | ${ms3(c.sequential.gateway.p50)} | ${ms3(c.sequential.direct.p50)} (direct) | +${ms3(overhead)} | ≤ +1 ms | ${verdict(overhead <= 1)} |`);
    L.push(`| C. pass-through p90 | ${ms3(c.sequential.gateway.p90)} | ${ms3(c.sequential.direct.p90)} | +${ms3(c.sequential.gateway.p90 - c.sequential.direct.p90)} | | info |`);
    L.push(`| C. pass-through p99 | ${ms3(c.sequential.gateway.p99)} | ${ms3(c.sequential.direct.p99)} | +${ms3(c.sequential.gateway.p99 - c.sequential.direct.p99)} | | info |`);
    L.push(`| C. pass-through errors (non-200) | ${c.sequential.errors} | | | 0 | ${verdict(c.sequential.errors === 0)} |`);
    L.push(`| C. pass-through req/s (GET /ok, c=${r.settings.connections}) | ${fmt(c.concurrent.gateway.rps)} | ${fmt(c.concurrent.direct.rps)} (direct) | ${fmt(c.concurrent.gateway.rps / c.concurrent.direct.rps, 2)}× | all 200, no errors | ${verdict(cleanRun(c.concurrent.gateway))} |`);
  }
  if (a || b || c) L.push('');

  if (a || b || c) {
    L.push('Status codes seen by the load generator (measured window):', '');
    if (a) L.push(`- A. asyncgate: ${statusList(a.gateway)}; ceiling: ${statusList(a.baseline)}`);
    if (b) L.push(`- B. GET asyncgate: ${statusList(b.get.gateway)}; If-None-Match asyncgate: ${statusList(b.inm.gateway)}`);
    if (c) L.push(`- C. concurrent asyncgate: ${statusList(c.concurrent.gateway)}; direct: ${statusList(c.concurrent.direct)}`);
    L.push(`- gateway warn/error log lines: A ${a?.gateway.warnings ?? '—'}, B ${b?.warnings ?? '—'}, C ${c?.warnings ?? '—'}`);
    L.push('');
  }
  if (a) {
    L.push(`Accept run: ${fmt(a.gateway.expected)} jobs accepted in ${fmt(a.gateway.durationS, 1)} s; ` +
      `the upstream executed ${fmt(a.executedDuringRun)} jobs in that window; health right after: ` +
      `running ${a.healthAfterRun?.running}, queued ≈ ${a.healthAfterRun?.queued}. Backlog ` +
      `${a.drain.drained ? `drained ${fmt(a.drain.ms / 1000, 1)} s after the load stopped` : `NOT drained after ${fmt(a.drain.ms / 1000, 1)} s`}.`);
    L.push('');
  }

  const cpuRow = (cols, name, cpu) => L.push(`| ${name} | ${cols.map((k) => (cpu[k] === undefined ? '' : `${fmt(cpu[k])}%`)).join(' | ')} |`);
  if (a || b || c) {
    const cpuCols = ['gateway', 'ceiling', 'upstream', 'load generator (bench)', 'others', 'machine'];
    L.push('CPU during each measured load (per process: % of one core; others: the rest of the machine, % of one core; machine: % of all cores):', '');
    L.push(`| load | ${cpuCols.join(' | ')} |`, `|---|${cpuCols.map(() => '---:').join('|')}|`);
    if (a) {
      cpuRow(cpuCols, 'A. accept, ceiling', a.baseline.cpu);
      cpuRow(cpuCols, 'A. accept, asyncgate', a.gateway.cpu);
    }
    if (b) {
      cpuRow(cpuCols, 'B. GET, ceiling', b.get.baseline.cpu);
      cpuRow(cpuCols, 'B. GET, asyncgate', b.get.gateway.cpu);
      cpuRow(cpuCols, 'B. 304, ceiling', b.inm.baseline.cpu);
      cpuRow(cpuCols, 'B. 304, asyncgate', b.inm.gateway.cpu);
    }
    if (c) {
      cpuRow(cpuCols, 'C. sequential, both', c.sequential.cpu);
      cpuRow(cpuCols, 'C. concurrent, direct', c.concurrent.direct.cpu);
      cpuRow(cpuCols, 'C. concurrent, asyncgate', c.concurrent.gateway.cpu);
    }
    L.push('');
    const busyOthers = [
      ...(a ? [a.baseline, a.gateway] : []),
      ...(b ? [b.get.baseline, b.get.gateway, b.inm.baseline, b.inm.gateway] : []),
      ...(c ? [c.concurrent.direct, c.concurrent.gateway] : []),
    ].map((x) => x.cpu.others ?? 0);
    if (Math.max(...busyOthers) > 20) {
      L.push(`**Note: up to ${fmt(Math.max(...busyOthers))}% of a core went to other processes (or to kernel work not charged to ours) during a measured load. If that is much more than the few % of the other rows, the machine was not idle: rerun.**`, '');
    }
  }

  const d = r.callbacks;
  if (d) reportCallbacks(L, r, d, cpuRow);

  const probes = [
    ['A. accept (load window)', a?.probe],
    ['A. backlog drain', a?.drainProbe],
    ['B. GET', b?.get.gateway.probe],
    ['B. 304', b?.inm.gateway.probe],
    ['C. concurrent', c?.concurrent.gateway.probe],
    ['D1. callback burst (submit → last receipt)', d?.asyncgate?.d1.probe],
    ['D2. end to end (measured window)', d?.asyncgate?.d2.probe],
    ...(d?.tuned ?? []).flatMap((t) => [
      [`D1, perHost ${t.perHost}`, t.d1.probe],
      [`D2, perHost ${t.perHost}`, t.d2.probe],
    ]),
  ].filter(([, p]) => p);
  if (probes.length) {
    L.push('Inside the gateway (bench/gateway-probe.mjs): group commits (one WAL fsync each), event loop:', '');
    L.push('| window | commits/s | writes/commit (mean, max) | time in commits | event-loop utilization | loop delay p50 / p99 / max |', '|---|---:|---:|---:|---:|---:|');
    for (const [name, p] of probes) {
      const per = p.commits ? p.writes / p.commits : 0;
      L.push(`| ${name} | ${fmt(p.commits / (p.wallMs / 1000))} | ${fmt(per, 1)}, ${p.maxBatch} | ${fmt(p.commitMs)} ms (${fmt((100 * p.commitMs) / p.wallMs)}% of wall, mean ${fmt(p.commits ? p.commitMs / p.commits : 0, 2)} ms, max ${fmt(p.maxCommitMs, 1)} ms) | ${fmt(100 * p.elu)}% | ${fmt(p.loopDelayMs.p50, 1)} / ${fmt(p.loopDelayMs.p99, 1)} / ${fmt(p.loopDelayMs.max, 1)} ms |`);
    }
    if (a?.probe) {
      const h = Object.entries(a.probe.batchHist).filter(([, v]) => v).map(([k, v]) => `≤${k}: ${v}`).join(', ');
      L.push('', `Accept window, writes per commit (histogram of commits): ${h}`);
    }
    for (const x of [d?.asyncgate, ...(d?.tuned ?? [])]) {
      const p = x?.d2.probe;
      if (p && x.d2.completed) {
        L.push('', `D2 window, ${x.name}: ${fmt(p.writes / x.d2.completed, 1)} durable writes and ${fmt(p.commits / x.d2.completed, 2)} group commits (WAL fsyncs) per completed job.`);
      }
    }
    L.push('');
  }
  if (r.profiles?.length) {
    L.push('CPU profiles of the gateway (self time):', '');
    for (const p of r.profiles) L.push(p.text, '');
  }
  return L.join('\n');
}

/** CPU time (ms, all cores) the system under test (+ its Redis) spent per job completed in D2's window. */
function cpuPerJob(x) {
  if (!x.completed) return 'n/a';
  const pct = (x.cpu.system ?? 0) + (x.cpu.redis ?? 0);
  const ms = (pct / 100) * x.windowS * 1000 / x.completed;
  return `${fmt(ms, 3)} ms (${fmt(x.cpu.system ?? 0)}%${x.cpu.redis !== undefined ? ` + ${fmt(x.cpu.redis)}%` : ''} of a core)`;
}

/** Section D's part of the report: both systems side by side, what each persists, CPU, checks. */
function reportCallbacks(L, r, d, cpuRow) {
  const g = d.asyncgate;
  const base = d.baseline;
  const hasBase = base && !base.error;
  const B = (f) => (hasBase ? f(base) : base?.error ? 'n/a (failed)' : 'not run');
  const ratio = (x, y) => (hasBase && y > 0 ? `${fmt(x / y, 2)}×` : '');
  const lat = (s) => (s.n ? `${fmt(s.p50, 1)} / ${fmt(s.p99, 1)} ms` : 'n/a');
  const clean = (x) => x.received === x.accepted && x.duplicates === 0 && x.badSignatures === 0 && x.errors === 0 && rejectedCount(x) === 0;
  const cleanD1 = (x) => clean(x) && x.received === x.jobs && x.drained;
  const cleanD2 = (x) => x.drained && x.duplicates === 0 && x.badSignatures === 0 && x.errors === 0 && rejectedCount(x) === 0;
  const checks = (x) => `${fmt(x.received)}/${fmt(x.accepted)} delivered; dup ${x.duplicates}, bad sig ${x.badSignatures}, non-202 ${rejectedCount(x)}, errors ${x.errors}`;
  const e2eAhead = hasBase && g.d2.jobsPerSec > base.d2.jobsPerSec;
  const redisPersist = hasBase && base.redis ? `Redis ${base.redis.version}, \`save "${base.redis.save}"\`, \`appendonly ${base.redis.appendonly}\`` : 'Redis';
  const redisDurable = hasBase && base.redis && (base.redis.appendonly === 'yes' || base.redis.save !== '');

  L.push(`### D. Callbacks: asyncgate vs a baseline built the common way (Fastify ${d.versions?.fastify ?? '?'} + BullMQ ${d.versions?.bullmq ?? '?'} on the local Redis + undici ${d.versions?.undici ?? '?'} sender)`, '');
  L.push(`Upstream answers 200 at once; the receiver (node:http) answers 200 at once and checks every Standard Webhooks signature. ` +
    `Jobs are POST /work with \`Pragma: redirect\` + \`Callback: <receiver>\`; each side POSTs the upstream's response to it. ` +
    `D1: ${fmt(r.settings.dJobs)} jobs submitted with ${r.settings.e2eInflight} submissions in flight (after 300 warm-up jobs); deliveries/s from the first to the last receipt. ` +
    `D2: closed loop, ${r.settings.e2eInflight} jobs in flight end to end (a job is submitted when a callback arrives), ${r.settings.warmup} s warm-up + ${r.settings.duration} s measured; jobs/s = callbacks acknowledged in the window. ` +
    `Latency = receipt at the receiver − submit time in the load generator.`, '');
  L.push('| benchmark | asyncgate | baseline: Fastify + BullMQ + undici | ratio | target | result |', '|---|---:|---:|---:|---|---|');
  L.push(`| D1. callbacks acknowledged/s (burst of ${fmt(r.settings.dJobs)}, first → last receipt) | ${fmt(g.d1.deliveriesPerSec)} | ${B((x) => fmt(x.d1.deliveriesPerSec))} | ${ratio(g.d1.deliveriesPerSec, base?.d1?.deliveriesPerSec)} | all delivered once, signatures verify | ${verdict(cleanD1(g.d1) && (!hasBase || cleanD1(base.d1)))} |`);
  L.push(`| D1. receipt − submit p50 / p99 | ${lat(g.d1.latencyMs)} | ${B((x) => lat(x.d1.latencyMs))} | | | info |`);
  L.push(`| D1. 202s/s while submitting; last receipt after first submit | ${fmt(g.d1.acceptedPerSec)}; ${fmt(g.d1.lastReceiptMs / 1000, 2)} s | ${B((x) => `${fmt(x.d1.acceptedPerSec)}; ${fmt(x.d1.lastReceiptMs / 1000, 2)} s`)} | | | info |`);
  L.push(`| D1. checks | ${checks(g.d1)} | ${B((x) => checks(x.d1))} | | | |`);
  L.push(`| **D2. end-to-end jobs/s** (accept → upstream → callback acknowledged, ${r.settings.e2eInflight} in flight) | **${fmt(g.d2.jobsPerSec)}** | ${hasBase ? `**${fmt(base.d2.jobsPerSec)}**` : B(() => '')} | ${hasBase ? `**${ratio(g.d2.jobsPerSec, base.d2.jobsPerSec)}**` : ''} | asyncgate ahead (> 1.00×) | ${hasBase ? verdict(e2eAhead) : 'n/a'} |`);
  L.push(`| D2. receipt − submit p50 / p99 | ${lat(g.d2.latencyMs)} | ${B((x) => lat(x.d2.latencyMs))} | | | info |`);
  L.push(`| D2. CPU per completed job (system + redis-server) | ${cpuPerJob(g.d2)} | ${B((x) => cpuPerJob(x.d2))} | | | info |`);
  L.push(`| D2. checks (whole run incl. warm-up and drain) | ${checks(g.d2)}; drained in ${fmt(g.d2.drainMs / 1000, 1)} s | ${B((x) => `${checks(x.d2)}; drained in ${fmt(x.d2.drainMs / 1000, 1)} s`)} | | all delivered once, signatures verify | ${verdict(cleanD2(g.d2) && (!hasBase || cleanD2(base.d2)))} |`);
  for (const t of d.tuned ?? []) {
    L.push(`| D1. callbacks/s, asyncgate with \`callbacks.perHost\` ${t.perHost} (config file) | ${fmt(t.d1.deliveriesPerSec)}; p50 / p99 ${lat(t.d1.latencyMs)} | ${B((x) => fmt(x.d1.deliveriesPerSec))} | ${ratio(t.d1.deliveriesPerSec, base?.d1?.deliveriesPerSec)} | all delivered once | ${verdict(cleanD1(t.d1))} (info) |`);
    L.push(`| D2. end-to-end jobs/s, asyncgate with \`callbacks.perHost\` ${t.perHost} (config file) | ${fmt(t.d2.jobsPerSec)}; p50 / p99 ${lat(t.d2.latencyMs)}; CPU/job ${cpuPerJob(t.d2)} | ${B((x) => fmt(x.d2.jobsPerSec))} | ${ratio(t.d2.jobsPerSec, base?.d2?.jobsPerSec)} | all delivered once | ${verdict(cleanD2(t.d2))} (info) |`);
  }
  L.push(`| what is committed per job | SQLite WAL: every step (accept, already leased when a slot is free, else accept + claim; response + completion, with the callback's lease; delivery claim when not handed over; attempt) is in a group commit whose WAL is fdatasynced before it is acted on (off the event loop) | ${redisPersist}: ${redisDurable ? 'Redis persistence as configured' : '**memory only, nothing reaches the disk**'} | | | |`);
  L.push('');
  if (base?.error) L.push(`**The baseline failed: ${base.error.replace(/\|/g, '\\|')}**`, '');
  if (hasBase && base.cleanup) L.push(`Baseline queue \`${base.queue}\` obliterated at the end; its keys left in Redis: ${base.cleanup.keysLeft}.`, '');
  else if (base?.queue) L.push(`**Baseline queue \`${base.queue}\`: no confirmation that it was obliterated.**`, '');
  L.push(`Gateway warn/error log lines in D: ${g.warnings}${(d.tuned ?? []).map((t) => `, ${t.warnings} with perHost ${t.perHost}`).join('')}; running jobs right after D2: ${g.health?.running}. Receipts with an unknown tag: ${d.unknownReceipts}.`, '');

  const cols = ['system', 'redis', 'upstream', 'receiver', 'load generator (bench)', 'others', 'machine'];
  L.push('CPU in section D (system: the gateway, or the baseline\'s Fastify + BullMQ process; redis: redis-server; per process % of one core; machine: % of all cores):', '');
  L.push(`| load | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`);
  cpuRow(cols, 'D1. asyncgate', g.d1.cpu);
  for (const t of d.tuned ?? []) cpuRow(cols, `D1. asyncgate, perHost ${t.perHost}`, t.d1.cpu);
  if (hasBase) cpuRow(cols, 'D1. baseline', base.d1.cpu);
  cpuRow(cols, 'D2. asyncgate', g.d2.cpu);
  for (const t of d.tuned ?? []) cpuRow(cols, `D2. asyncgate, perHost ${t.perHost}`, t.d2.cpu);
  if (hasBase) cpuRow(cols, 'D2. baseline', base.d2.cpu);
  L.push('');
  const others = [g.d1, g.d2, ...(d.tuned ?? []).flatMap((t) => [t.d1, t.d2]), ...(hasBase ? [base.d1, base.d2] : [])].map((x) => x.cpu.others ?? 0);
  if (Math.max(...others) > 20) {
    L.push(`**Note: up to ${fmt(Math.max(...others))}% of a core went to other processes during a D load: the machine was not idle; rerun.**`, '');
  }
}

// ---------------------------------------------------------------------------------------------------------
// 7. Main.

async function main() {
  ensureDeps();
  ({ default: autocannon } = await import('autocannon'));
  ({ Pool, fetch } = await import('undici'));
  if (!existsSync(CLI)) throw new Error(`${path.relative(process.cwd(), CLI)} is missing: run "npm run build" first (or "npm run bench")`);

  // Is the machine idle? (Other users' test suites on a 2-core box move these numbers a lot.)
  const idle0 = machineTicks();
  await sleep(1_000);
  const idle1 = machineTicks();
  busyBefore = idle0 && idle1 ? 100 * (1 - (idle1.idle - idle0.idle) / (idle1.total - idle0.total)) : NaN;
  if (busyBefore > 20) log(`warning: the machine is ${fmt(busyBefore)}% busy before the run started; numbers will be disturbed`);

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'asyncgate-bench-'));
  tmpDir = tmp;
  const dbFile = path.join(tmp, 'jobs.db');
  const started = Date.now();
  log(`temp SQLite file ${dbFile}`);
  try {
    const [upstream, ceiling] = await Promise.all([startServer('upstream'), startServer('ceiling')]);
    const ctx = { upstream, ceiling, dbFile };
    // A2 is reported against A's ceiling figure: asking for A2 runs A too.
    const accept = SECTIONS.has('A') || SECTIONS.has('A2') ? await sectionAccept(ctx) : undefined;
    const acceptLong = SECTIONS.has('A2') ? await sectionAcceptLong(ctx, accept.baseline) : undefined;
    const monitor = SECTIONS.has('B') ? await sectionMonitor(ctx) : undefined;
    const passthrough = SECTIONS.has('C') ? await sectionPassThrough(ctx) : undefined;
    const callbacks = SECTIONS.has('D') ? await sectionCallbacks(ctx) : undefined;
    await stopAll();

    const results = {
      when: new Date().toISOString(),
      machine: machineInfo(),
      settings: { maxQueued: opt['max-queued'], duration: DURATION, warmup: WARMUP, connections: CONNECTIONS, requests: SEQ_REQUESTS, warmupRequests: SEQ_WARMUP, probe: PROBE_ON, cpuProf: Boolean(CPU_PROF_DIR), sections: [...SECTIONS], dJobs: D_JOBS, e2eInflight: E2E_INFLIGHT, drainS: DRAIN_S },
      accept,
      acceptLong,
      monitor,
      passthrough,
      callbacks,
      elapsedS: (Date.now() - started) / 1000,
    };
    if (CPU_PROF_DIR) {
      const { summarise, formatSummary } = await import('./cpuprofile-top.mjs');
      results.profiles = [];
      for (const label of ['accept', 'monitor', 'passthrough', 'callbacks', ...D_PER_HOST.map((n) => `callbacks-perhost-${n}`)]) {
        const file = path.join(CPU_PROF_DIR, `gateway-${label}.cpuprofile`);
        if (!existsSync(file)) continue;
        const s = summarise(JSON.parse(readFileSync(file, 'utf8')), 20);
        results.profiles.push({ label, file, summary: s, text: formatSummary(s, `gateway, section ${label} (${file})`) });
      }
      const baseFile = path.join(CPU_PROF_DIR, 'baseline-bullmq.cpuprofile');
      if (existsSync(baseFile)) {
        const s = summarise(JSON.parse(readFileSync(baseFile, 'utf8')), 20);
        results.profiles.push({ label: 'baseline-bullmq', file: baseFile, summary: s, text: formatSummary(s, `baseline (Fastify + BullMQ), section D (${baseFile})`) });
      }
    }
    process.stdout.write(`${report(results)}\n`);
    if (SECTIONS.has('E')) {
      log('section E: idle event streams and long polls (bench/idle-streams.mjs)');
      const e = spawnSync(process.execPath, [path.join(BENCH, 'idle-streams.mjs')], { cwd: ROOT, stdio: ['ignore', 'pipe', 2], encoding: 'utf8' });
      if (e.status !== 0) throw new Error(`section E failed (exit ${e.status ?? e.signal})`);
      process.stdout.write(`\n${e.stdout}`);
    }
    log(`done in ${fmt(results.elapsedS, 1)} s`);
    if (opt.json) writeFileSync(opt.json, `${JSON.stringify(results, null, 2)}\n`);
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
