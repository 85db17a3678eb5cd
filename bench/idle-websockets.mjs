#!/usr/bin/env node
// What thousands of idle job WebSockets (`GET /_async/jobs/{id}/ws`) cost one gateway process: the
// companion of bench/idle-streams.mjs (section E), with the same gateway child, memory probe and method.
//
//   node bench/idle-websockets.mjs [--sockets 5000] [--idle 20] [--heartbeat 15s] [--cli dist/cli/main.js]
//   (needs `npm run build` first, or --cli pointing at another build of the CLI)
//
// Everything is on loopback. A gateway child (`node --expose-gc --import bench/memory-probe.mjs <cli> serve ...`,
// a fresh SQLite file) runs in front of an upstream in this process that never answers, so every job stays
// running. The bench submits N jobs, then:
//   1. baseline: no client connections; the gateway's RSS and live heap (after a full GC), and its CPU over an
//      idle interval (from /proc/<pid>/stat);
//   2. opens N WebSockets with the `ws` client (one per job, each read up to its first message, the client
//      answering pings by itself); measures the same over an idle interval that spans at least one heartbeat
//      (one ping per socket, and its pong), and counts the pings received and the sockets still open;
//   3. closes them, checks the gateway's watched-job count (`/_async/health`) is back to 0 (no leaked
//      listeners), and measures memory once more.
// Prints a markdown table on stdout; progress on stderr. The whole run is bounded (--deadline, default 240 s).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const PROBE = path.join(BENCH, 'memory-probe.mjs');

const { values: opt } = parseArgs({
  options: {
    sockets: { type: 'string', default: '5000' },
    idle: { type: 'string', default: '20' },
    heartbeat: { type: 'string', default: '15s' },
    deadline: { type: 'string', default: '240' },
    cli: { type: 'string', default: path.join(ROOT, 'dist', 'cli', 'main.js') },
  },
});
const SOCKETS = Number(opt.sockets);
const IDLE_S = Number(opt.idle);
const CLI = path.resolve(opt.cli);
const log = (msg) => process.stderr.write(`[bench ws] ${msg}\n`);

// Each client socket is one descriptor here and one in the gateway; both processes need room for N + margin.
const need = SOCKETS + 1000;
const limitLine = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
const softLimit = Number(limitLine?.split(/\s+/)[3]);
if (Number.isFinite(softLimit) && softLimit < need) {
  if (process.env.ASYNCGATE_BENCH_ULIMIT) throw new Error(`open-file limit ${softLimit} < ${need} even after ulimit -n`);
  log(`open-file limit ${softLimit} < ${need}: re-running under ulimit -n ${need}`);
  const r = spawn('/bin/sh', ['-c', `ulimit -n ${need} && exec "$0" "$@"`, process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ASYNCGATE_BENCH_ULIMIT: '1' },
  });
  r.on('exit', (code) => process.exit(code ?? 1));
} else {
  const deadline = setTimeout(() => {
    log(`deadline of ${opt.deadline} s passed; giving up`);
    process.exit(1);
  }, Number(opt.deadline) * 1000);
  deadline.unref();
  main().catch((error) => {
    log(`failed: ${error.stack ?? error}`);
    process.exitCode = 1;
  });
}

function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of the whole line)
}
const TICKS_PER_S = 100; // CLK_TCK on Linux

async function main() {
  const held = new Set();
  const upstream = createServer((req, res) => {
    held.add(res);
    res.on('close', () => held.delete(res));
  });
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'asyncgate-bench-ws-'));
  const args = ['--expose-gc', '--import', pathToFileURL(PROBE).href, CLI, 'serve', '--upstream', upstreamUrl, '--port', '0', '--db', `sqlite:${path.join(tmp, 'jobs.db')}`, '--max-queued', '1000000', '--events-heartbeat', opt.heartbeat];
  const gw = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ASYNCGATE_LOG_LEVEL: 'info' } });
  const probeWaiters = [];
  readline.createInterface({ input: gw.stderr }).on('line', (line) => {
    if (line.startsWith('{"asyncgateMemoryProbe"')) probeWaiters.shift()?.(JSON.parse(line).asyncgateMemoryProbe);
    else log(`gateway: ${line}`);
  });
  const clients = new Set();
  try {
    const base = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('gateway did not start in 15 s')), 15_000);
      readline.createInterface({ input: gw.stdout }).on('line', (line) => {
        try {
          const m = JSON.parse(line);
          if (m.msg === 'asyncgate listening') {
            clearTimeout(t);
            resolve(new URL(m.url));
          }
        } catch {
          // not a log line
        }
      });
      gw.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
    });
    const host = base.hostname;
    const port = Number(base.port);
    const memory = () => new Promise((resolve) => {
      probeWaiters.push(resolve);
      gw.kill('SIGUSR2');
    });
    // Jobs watched (one socket per job here). Not /_async/metrics: with the memory probe preloaded, a scrape
    // there ended the gateway (seen at 4d14083 too; to look into).
    const openWebSockets = async () => JSON.parse(await getText(host, port, '/_async/health')).watched;

    log(`submitting ${SOCKETS} jobs`);
    const ids = await submitJobs(host, port, SOCKETS);

    const pings = { count: 0 };
    /** Settle, snapshot memory (after GC), then CPU over the idle interval. */
    const measure = async (label, open) => {
      await sleep(2_000);
      const mem = await memory();
      const t0 = cpuTicks(gw.pid);
      const w0 = performance.now();
      const p0 = pings.count;
      await sleep(IDLE_S * 1000);
      const cpuPct = (100 * (cpuTicks(gw.pid) - t0)) / TICKS_PER_S / ((performance.now() - w0) / 1000);
      const watched = await openWebSockets();
      const note = open ? `${pings.count - p0} pings received in the idle window; ${watched} sockets open at its end` : undefined;
      log(`${label}: rss ${mb(mem.rss)} MB, heap ${mb(mem.heapUsed)} MB, CPU ${cpuPct.toFixed(2)}% of a core, open ${watched}`);
      return { label, open, ...mem, cpuPct, note };
    };

    const rows = [];
    rows.push(await measure('no client connections', 0));

    log(`opening ${SOCKETS} WebSockets`);
    const sockets = await openMany(ids, (id) => openSocket(`ws://${host}:${port}/_async/jobs/${id}/ws`, clients, pings));
    const open = await openWebSockets();
    if (open !== SOCKETS) throw new Error(`${open} WebSockets open in the gateway, not ${SOCKETS}`);
    rows.push(await measure(`${SOCKETS} idle WebSockets`, sockets.length));
    const stillOpen = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
    if (stillOpen !== SOCKETS) throw new Error(`only ${stillOpen} of ${SOCKETS} sockets survived the idle window (pongs answered by the client)`);
    for (const ws of sockets) ws.terminate();
    await until(async () => (await openWebSockets()) === 0, 30_000, 'the watched count did not return to 0 after the sockets closed');
    log('sockets closed; watched back to 0');
    await sleep(2_000);
    rows.push({ label: 'WebSockets closed', open: 0, ...(await memory()) });

    report(rows);
  } finally {
    for (const ws of clients) ws.terminate();
    gw.stdin.end();
    gw.kill('SIGTERM');
    await Promise.race([new Promise((r) => gw.once('exit', r)), sleep(8_000)]);
    if (gw.exitCode === null && gw.signalCode === null) gw.kill('SIGKILL');
    for (const res of held) res.socket?.destroy();
    upstream.closeAllConnections();
    upstream.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

function report(rows) {
  const [baseRow] = rows;
  const lines = [
    `Idle WebSockets on one gateway process (node ${process.version}, ${os.cpus().length} cores; heartbeat ${opt.heartbeat}, idle window ${IDLE_S} s)`,
    '',
    '| state | open | RSS | live heap (after GC) | RSS per socket | heap per socket | CPU over the idle window | |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const per = (field) => (r.open ? `${((r[field] - baseRow[field]) / r.open / 1024).toFixed(1)} KB` : '');
    const cpu = r.cpuPct === undefined ? '' : `${r.cpuPct.toFixed(2)}% of a core`;
    lines.push(`| ${r.label} | ${r.open} | ${mb(r.rss)} MB | ${mb(r.heapUsed)} MB | ${per('rss')} | ${per('heapUsed')} | ${cpu} | ${r.note ?? ''} |`);
  }
  lines.push('', 'Per-socket figures: the difference from the first row (no client connections), divided by the count.');
  lines.push('After the sockets closed, the gateway\'s watched-job count (`/_async/health`) went back to 0.');
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function until(fn, timeoutMs, message) {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(message);
    await sleep(100);
  }
}

function getText(host, port, p, headers = {}) {
  return new Promise((resolve, reject) => {
    request({ host, port, path: p, agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

async function submitJobs(host, port, n) {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const ids = [];
  const one = () => new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/work', method: 'POST', agent, headers: { prefer: 'respond-async', 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 202 ? resolve(JSON.parse(body).id) : reject(new Error(`submit: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end('{"n":1}');
  });
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < n) {
      next++;
      ids.push(await one());
    }
  }));
  agent.destroy();
  return ids;
}

/** Open connections `batch` at a time (a connect storm of thousands would overflow the listen backlog). */
async function openMany(ids, open, batch = 250) {
  const out = [];
  for (let i = 0; i < ids.length; i += batch) out.push(...(await Promise.all(ids.slice(i, i + batch).map(open))));
  return out;
}

/** A WebSocket, resolved once its first message (the job's current state) has come. */
function openSocket(url, clients, pings) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('ping', () => pings.count++);
    ws.once('message', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
  });
}
