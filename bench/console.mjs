#!/usr/bin/env node
// The operator console's cost, measured (issue 12): admin list and search response times with a large store,
// and accept throughput with a dashboard open and live against without.
//
//   npm run build && node bench/console.mjs [--jobs 100000] [--db sqlite | postgres://…] [--duration 8]
//
// 1. Seeds the store through a real gateway (`asyncgate serve`, --admin-token) in front of bench/servers.mjs
//    echo: --jobs asynchronous POSTs, each with a JSON body of a few words. One word in ten thousand jobs is
//    rare (a "needle"), one is in every tenth job; 1 % are PUTs; 0.5 % outlive the gateway's --timeout and
//    fail; every other job has an Idempotency-Key. The echo upstream quotes the body back, so results hold
//    text too. Waits until every job has finished.
// 2. Times admin API calls, sequentially over one keep-alive connection (after two warm-up calls each):
//    the newest page, filtered pages, a page ten deep, and search by a rare word, a common word, a word in no
//    job, a job id, an idempotency key and a URL fragment. p50 / p95 / max over --samples calls.
// 3. Accept throughput (autocannon, 50 connections, 202s/s) in rounds without and with a "live
//    dashboard": what an open jobs page does — the admin event stream (GET /admin/events) and the newest page
//    fetched again every 2 s (the page's answer to `resync` under load) — plus an overview page refreshing
//    every 10 s, times --viewers. Each side of a round starts from an empty queue, and the order alternates
//    (without-with, with-without, …), so a store that grows from round to round favours neither side.
//
// A markdown table goes to stdout; progress to stderr. Targets (issue 12): list ≤ 100 ms and search ≤ 300 ms
// at 100k jobs; accept throughput with the dashboard within 5 % of without.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureDeps } from './lib/deps.mjs';
import { CLI, log } from './lib/paths.mjs';
import { startChild, startServer, stopAll } from './lib/processes.mjs';
import { fmt, percentile } from './lib/stats.mjs';

const { values: opt } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' },
    db: { type: 'string', default: 'sqlite' },
    samples: { type: 'string', default: '30' },
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    viewers: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    // What the simulated dashboard does: `both` (the default), or only the `events` stream, or only the `polls`.
    dashboard: { type: 'string', default: 'both' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) {
  process.stdout.write('Usage: node bench/console.mjs [--jobs N] [--db sqlite|postgres://…] [--samples N] [--duration S] [--rounds N] [--viewers N] [--connections N]\n');
  process.exit(0);
}
ensureDeps();
const { default: autocannon } = await import('autocannon');
const { Pool, fetch, request } = await import('undici');

const JOBS = Number(opt.jobs);
const SAMPLES = Number(opt.samples);
const TOKEN = 'bench-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'asyncgate-console-bench-'));
const db = opt.db === 'sqlite' ? `sqlite:${path.join(tmp, 'console.db')}` : opt.db;

const WORDS = 'amber basil cedar delta ember fjord garnet harbor indigo juniper kelp lumen maple nectar onyx pepper quartz raven sable thistle umber velvet willow yarrow zephyr'.split(' ');
const COMMON = 'marigold'; // in every tenth job
const NEEDLE = 'xylophone'; // in one job in ten thousand
const ABSENT = 'quixotic'; // in none

try {
  const upstream = await startServer('echo');
  const gateway = await startChild(
    'gateway',
    [CLI, 'serve', '--upstream', upstream.url, '--port', '0', '--db', db, '--admin-token', TOKEN, '--max-queued', String(JOBS * 2), '--timeout', '1s'],
    { env: { ASYNCGATE_LOG_LEVEL: 'info' }, ready: (msg) => (msg.msg === 'asyncgate listening' ? msg.url : undefined) },
  );
  const base = gateway.url;
  const pool = new Pool(base, { connections: 64, pipelining: 1 });

  // --- 1. seed ---------------------------------------------------------------------------------------------
  log(`seeding ${JOBS} jobs through ${base} (${db.startsWith('sqlite') ? 'SQLite' : 'PostgreSQL'})`);
  const t0 = performance.now();
  let sent = 0;
  let sampleId;
  const lane = async () => {
    while (sent < JOBS) {
      const i = sent++;
      const words = [WORDS[i % WORDS.length], WORDS[(i * 7) % WORDS.length], WORDS[(i * 13) % WORDS.length]];
      if (i % 10 === 3) words.push(COMMON);
      if (i % 10_000 === 1) words.push(NEEDLE);
      const body = JSON.stringify({ order: i, customer: `customer-${i % 997}`, note: words.join(' ') });
      // One job in 200 outlives the gateway's --timeout 1s (and has no key, so it is not retried): it fails
      // upstream-timeout, for the state and error filters.
      const fails = i % 200 === 7;
      const res = await pool.request({
        method: i % 100 === 0 ? 'PUT' : 'POST',
        path: `/orders/${i % 50}?region=${WORDS[i % 7]}${fails ? '&ms=1500' : ''}`,
        headers: { 'content-type': 'application/json', prefer: 'respond-async', ...(fails ? {} : { 'idempotency-key': `bench-key-${i}` }) },
        body,
      });
      const text = await res.body.text();
      if (res.statusCode !== 202) throw new Error(`seeding: ${res.statusCode} ${text}`);
      if (i === 4_242 || sampleId === undefined) sampleId = JSON.parse(text).id;
    }
  };
  await Promise.all(Array.from({ length: 64 }, lane));
  const acceptedIn = (performance.now() - t0) / 1000;
  log(`accepted ${JOBS} in ${acceptedIn.toFixed(1)} s; waiting for them to finish`);
  const settle = async () => {
    for (;;) {
      const health = await (await request(`${base}/_async/health`)).body.json();
      if (health.queued === 0 && health.running === 0) return;
      await sleep(500);
    }
  };
  await settle();
  log(`all finished after ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // --- 2. list and search ----------------------------------------------------------------------------------
  const since = new Date(Date.now() - 10 * 60_000).toISOString();
  const timed = async (label, kind, pathAndQuery, check) => {
    const times = [];
    let last;
    for (let i = 0; i < SAMPLES + 2; i++) {
      const start = performance.now();
      const res = await pool.request({ method: 'GET', path: `/_async${pathAndQuery}`, headers: auth });
      last = await res.body.json();
      const ms = performance.now() - start;
      if (res.statusCode !== 200) throw new Error(`${pathAndQuery}: ${res.statusCode} ${JSON.stringify(last)}`);
      if (i >= 2) times.push(ms);
    }
    times.sort((a, b) => a - b);
    const items = last.items?.length ?? 0;
    if (check) check(last);
    return { label, kind, query: pathAndQuery, items, p50: percentile(times, 0.5), p95: percentile(times, 0.95), max: times.at(-1) };
  };
  let tenDeep = '/admin/jobs?limit=50';
  for (let i = 0; i < 9; i++) {
    const res = await pool.request({ method: 'GET', path: `/_async${tenDeep}`, headers: auth });
    const page = await res.body.json();
    tenDeep = new URL(page.next).pathname.replace(/^\/_async/, '') + new URL(page.next).search;
  }
  const expectSome = (n) => (body) => {
    if ((body.items?.length ?? 0) < n) throw new Error(`expected at least ${n} items, got ${body.items?.length}`);
  };
  const rows = [
    await timed('newest 50', 'list', '/admin/jobs?limit=50', expectSome(50)),
    await timed('state=succeeded', 'list', '/admin/jobs?state=succeeded&limit=50', expectSome(50)),
    await timed('state=failed (0.5 %)', 'list', '/admin/jobs?state=failed&limit=50', expectSome(Math.min(50, Math.floor(JOBS / 200)))),
    await timed('error=upstream-timeout', 'list', '/admin/jobs?error=upstream-timeout&limit=50', expectSome(Math.min(50, Math.floor(JOBS / 200)))),
    await timed('method=PUT (1 %)', 'list', '/admin/jobs?method=PUT&limit=50', expectSome(50)),
    await timed('path=/orders/7', 'list', '/admin/jobs?path=%2Forders%2F7&limit=50', expectSome(50)),
    await timed('since 10 min ago', 'list', `/admin/jobs?since=${encodeURIComponent(since)}&limit=50`, expectSome(50)),
    await timed('page 10 (cursor)', 'list', tenDeep, expectSome(50)),
    await timed(`rare word (${Math.ceil(JOBS / 10_000)} jobs)`, 'search', `/admin/jobs?q=${NEEDLE}&limit=50`, expectSome(1)),
    await timed('common word (10 %)', 'search', `/admin/jobs?q=${COMMON}&limit=50`, expectSome(50)),
    await timed('word in no job', 'search', `/admin/jobs?q=${ABSENT}&limit=50`),
    await timed('job id', 'search', `/admin/jobs?q=${sampleId}&limit=50`, expectSome(1)),
    await timed('idempotency key', 'search', '/admin/jobs?q=bench-key-4242&limit=50', expectSome(1)),
    await timed('URL fragment', 'search', '/admin/jobs?q=region%3Ddelta&limit=50', expectSome(1)),
    await timed('overview', 'overview', '/admin/overview'),
  ];

  // --- 3. accept throughput with and without a live dashboard ----------------------------------------------
  const accept = () =>
    new Promise((resolve, reject) =>
      autocannon(
        {
          url: `${base}/orders/bench`,
          method: 'POST',
          headers: { 'content-type': 'application/json', prefer: 'respond-async' },
          body: JSON.stringify({ order: 1, note: 'amber basil cedar' }),
          connections: Number(opt.connections),
          duration: Number(opt.duration),
        },
        (err, res) => (err ? reject(err) : resolve((res.statusCodeStats?.['202']?.count ?? 0) / res.duration)),
      ),
    );
  const dashboard = () => {
    const stop = new globalThis.AbortController();
    let events = 0;
    const viewers = Array.from({ length: Number(opt.viewers) }, async () => {
      const stream = (opt.dashboard === 'polls' ? Promise.reject(new Error('no stream')) : fetch(`${base}/_async/admin/events`, { headers: auth, signal: stop.signal }))
        .then(async (res) => {
          for await (const chunk of res.body) events += chunk.length;
        })
        .catch(() => undefined);
      // The jobs page fetches its list again at most every 2 s while the stream says changes were dropped
      // (always, under this load); an overview page in another tab refreshes every 10 s.
      for (let tick = 0; opt.dashboard !== 'events' && !stop.signal.aborted; tick++) {
        const timed = (kind, url) => {
          const t0 = performance.now();
          return fetch(url, { headers: auth, signal: stop.signal })
            .then((r) => r.arrayBuffer())
            .then(() => pollTimes[kind].push(performance.now() - t0));
        };
        await Promise.all([
          tick % 5 === 0 ? timed('overview', `${base}/_async/admin/overview`) : undefined,
          timed('list', `${base}/_async/admin/jobs?limit=50`),
        ]).catch(() => undefined);
        await sleep(2_000, undefined, { signal: stop.signal }).catch(() => undefined);
      }
      await stream;
    });
    return {
      async end() {
        stop.abort();
        await Promise.all(viewers);
        return events;
      },
    };
  };
  const without = [];
  const withDash = [];
  /** How long the simulated page's own calls took under the flood (ms). */
  const pollTimes = { list: [], overview: [] };
  let streamed = 0;
  const withDashboard = async () => {
    const d = dashboard();
    await sleep(300);
    withDash.push(await accept());
    streamed += await d.end();
  };
  await accept(); // warm-up
  await settle();
  // Every round starts with an empty queue (what was accepted runs off first), and the order alternates
  // (without-with, then with-without): a store that grows round after round favours neither side.
  for (let r = 0; r < Number(opt.rounds); r++) {
    log(`accept round ${r + 1}: ${r % 2 === 0 ? 'without, then with' : 'with, then without'} the dashboard`);
    for (const side of r % 2 === 0 ? ['without', 'with'] : ['with', 'without']) {
      if (side === 'without') without.push(await accept());
      else await withDashboard();
      await settle();
    }
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

  // --- report ----------------------------------------------------------------------------------------------
  const out = [];
  out.push(`# Console bench: ${fmt(JOBS)} jobs on ${db.startsWith('sqlite') ? 'SQLite' : 'PostgreSQL'}`);
  out.push('');
  out.push(`${os.cpus()[0]?.model} × ${os.cpus().length}, Node ${process.version}. Seeded in ${acceptedIn.toFixed(1)} s (accepted).`);
  out.push('');
  out.push('| call | kind | items | p50 | p95 | max | target |');
  out.push('|---|---|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const target = r.kind === 'list' ? 100 : r.kind === 'search' ? 300 : undefined;
    const verdict = target === undefined ? '' : r.p95 <= target ? `≤ ${target} ms: PASS` : `≤ ${target} ms: **FAIL**`;
    out.push(`| ${r.label} | ${r.kind} | ${r.items} | ${fmt(r.p50, 1)} ms | ${fmt(r.p95, 1)} ms | ${fmt(r.max, 1)} ms | ${verdict} |`);
  }
  out.push('');
  const a = mean(without);
  const b = mean(withDash);
  const change = ((b - a) / a) * 100;
  out.push('| accept (202s/s, mean of rounds) | rounds | |');
  out.push('|---|---|---:|');
  out.push(`| without a dashboard | ${without.map((x) => fmt(x)).join(', ')} | ${fmt(a)} |`);
  out.push(`| with ${opt.viewers} live dashboard(s) | ${withDash.map((x) => fmt(x)).join(', ')} | ${fmt(b)} |`);
  out.push(`| change | | ${change.toFixed(1)} % (target within 5 %: ${Math.abs(change) <= 5 || change > 0 ? 'PASS' : '**FAIL**'}) |`);
  out.push('');
  out.push(`The live dashboard received ${fmt(streamed / 1024)} KiB of events during the measured rounds.`);
  for (const [kind, xs] of Object.entries(pollTimes)) {
    if (xs.length) out.push(`The page's ${kind} calls during the flood: p50 ${fmt(percentile([...xs].sort((x, y) => x - y), 0.5), 1)} ms, max ${fmt(Math.max(...xs), 1)} ms (${xs.length} calls).`);
  }
  process.stdout.write(out.join('\n') + '\n');
  await pool.close();
} finally {
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
}
