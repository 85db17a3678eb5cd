#!/usr/bin/env node
// Scale-out benchmark (issue 4): accept and end-to-end throughput on SQLite (one process) and on PostgreSQL
// with one and with two processes, side by side in one run.   npm run build && node bench/scale-out.mjs
//
//   accept      autocannon POSTs with `Prefer: respond-async` (durable 202s/s); every job holds the upstream
//               30 s, so the run measures accepting, not executing
//   end to end  autocannon POSTs with `Prefer: respond-async, wait=30`: each answer is the job's final
//               response, so every connection is a closed loop of accept → claim → upstream → complete →
//               the accepting process woken (on PostgreSQL, possibly by another process's NOTIFY)
// With two processes the connections are split evenly between them, as a load balancer would.
// Everything is on loopback; the PostgreSQL is the machine's own (each configuration gets a fresh schema).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    pg: { type: 'string', default: process.env.ASYNCGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    configs: { type: 'string', default: 'sqlite:1,postgres:1,postgres:2' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write(`Usage: node bench/scale-out.mjs [--duration S] [--warmup S] [--connections N] [--pg URL]
                                [--configs sqlite:1,postgres:1,postgres:2]\n`);
  process.exit(0);
}
const DURATION = Number(opt.duration);
const WARMUP = Number(opt.warmup);
const CONNECTIONS = Number(opt.connections);
const log = (msg) => process.stderr.write(`[scale-out] ${msg}\n`);
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function start(args, ready, env = {}) {
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] }); // the bench servers exit when stdin closes
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  const tail = [];
  proc.stderr.on('data', (d) => tail.push(String(d)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${tail.join('')}`)), 30_000);
    readline.createInterface({ input: proc.stdout }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      const url = ready(msg);
      if (url) {
        clearTimeout(timer);
        resolve({ proc, url });
      }
    });
    proc.once('exit', (code) => reject(new Error(`exited ${code}: ${tail.join('')}`)));
  });
}

const kill = async (c) => {
  if (c.proc.exitCode !== null) return;
  const gone = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill('SIGKILL');
  await gone;
};

function cannon(url, headers, connections, duration) {
  return new Promise((resolve, reject) =>
    autocannon(
      { url, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"report":"q3"}', connections, duration, timeout: 40 },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

/** Load every process at once (connections split evenly), then add the results up. */
async function loadAll(gateways, path_, headers, expect) {
  const per = Math.max(1, Math.floor(CONNECTIONS / gateways.length));
  if (WARMUP > 0) await Promise.all(gateways.map((g) => cannon(g.url + path_, headers, per, WARMUP)));
  const results = await Promise.all(gateways.map((g) => cannon(g.url + path_, headers, per, DURATION)));
  const ok = results.reduce((n, r) => n + (r.statusCodeStats?.[expect]?.count ?? 0), 0);
  const other = results.reduce((n, r) => n + r.requests.total - (r.statusCodeStats?.[expect]?.count ?? 0), 0);
  const seconds = Math.max(...results.map((r) => r.duration));
  // Latency percentiles of the busiest process (they differ little; autocannon cannot merge histograms).
  const worst = results.reduce((a, b) => (b.latency.p99 > a.latency.p99 ? b : a));
  return { perSec: ok / seconds, other, p50: worst.latency.p50, p99: worst.latency.p99 };
}

async function withConfig(backend, processes, upstream, fn) {
  let db;
  let cleanup = async () => {};
  if (backend === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'asyncgate-scale-'));
    db = `sqlite:${path.join(dir, 'bench.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    db = `${opt.pg}${opt.pg.includes('?') ? '&' : '?'}schema=${schema}&pool=20`;
    cleanup = async () => {
      const c = new pg.Client({ connectionString: opt.pg });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    };
  }
  const args = [CLI, 'serve', '--upstream', upstream, '--port', '0', '--db', db, '--max-queued', '10000000', '--concurrency', '256'];
  // One process first: it creates the schema, so the others do not all wait on the migration lock.
  const first = await start(args, (m) => (m.msg === 'asyncgate listening' ? m.url : undefined));
  const rest = await Promise.all(
    Array.from({ length: processes - 1 }, () => start(args, (m) => (m.msg === 'asyncgate listening' ? m.url : undefined))),
  );
  const gateways = [first, ...rest];
  try {
    return await fn(gateways);
  } finally {
    await Promise.all(gateways.map(kill));
    await cleanup();
  }
}

const upstream = await start([path.join(BENCH, 'servers.mjs'), 'upstream'], (m) => m.listening);
const configs = opt.configs.split(',').map((c) => {
  const [backend, n] = c.split(':');
  return { backend, processes: Number(n ?? 1) };
});
const rows = [];
for (const { backend, processes } of configs) {
  const label = `${backend} × ${processes}`;
  log(`${label}: accept (jobs hold the upstream 30 s), ${CONNECTIONS} connections, ${DURATION} s`);
  const accept = await withConfig(backend, processes, upstream.url, (gws) =>
    loadAll(gws, '/work?ms=30000', { prefer: 'respond-async' }, 202),
  );
  log(`${label}: end to end (Prefer: respond-async, wait=30), ${CONNECTIONS} connections, ${DURATION} s`);
  const e2e = await withConfig(backend, processes, upstream.url, (gws) =>
    loadAll(gws, '/work', { prefer: 'respond-async, wait=30' }, 200),
  );
  rows.push({ label, accept, e2e });
  await sleep(500);
}
await kill(upstream);

const f = (n) => Math.round(n).toLocaleString('en-US');
const cpu = os.cpus();
console.log(`\n### Scale-out: SQLite vs PostgreSQL, one and two processes\n`);
console.log(`${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}; ${CONNECTIONS} connections, ${DURATION} s per load after ${WARMUP} s warm-up; load generator, gateways, upstream and database on one machine.\n`);
console.log('| configuration | accept 202/s | p50 ms | p99 ms | end-to-end jobs/s | p50 ms | p99 ms | errors |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.label} | ${f(r.accept.perSec)} | ${r.accept.p50} | ${r.accept.p99} | ${f(r.e2e.perSec)} | ${r.e2e.p50} | ${r.e2e.p99} | ${r.accept.other + r.e2e.other} |`,
  );
}
