#!/usr/bin/env node
// Section E: what thousands of idle event streams and long polls cost one gateway process.
//
//   node bench/idle-streams.mjs [--streams 5000] [--polls 5000] [--idle 20] [--heartbeat 15s]
//   (run by `node bench/run.mjs` as section E; needs `npm run build` first)
//
// Everything is on loopback. A gateway child (`node --expose-gc --import bench/memory-probe.mjs dist/cli/main.js
// serve --max-wait 10m ...`, a fresh SQLite file) runs in front of an upstream in this process that never
// answers, so every job stays NotStarted/Running. The bench submits N jobs, then:
//   1. baseline: no client connections; the gateway's RSS and live heap (after a full GC), and its CPU over an
//      idle interval (from /proc/<pid>/stat);
//   2. opens N `GET /_async/jobs/{id}/events` streams, one per job, on raw sockets, each read up to its first
//      event; measures the same, over an idle interval that spans at least one heartbeat;
//   3. closes them, checks the gateway's watched-job count is back to 0 (no leaked listeners);
//   4. opens N long polls (`GET /_async/jobs/{id}` + `Prefer: wait=600`), checks all N are waiting, measures again.
// Prints a markdown table on stdout; progress on stderr. The whole run is bounded (--deadline, default 240 s).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const PROBE = path.join(BENCH, 'memory-probe.mjs');

const { values: opt } = parseArgs({
  options: {
    streams: { type: 'string', default: '5000' },
    polls: { type: 'string', default: '5000' },
    idle: { type: 'string', default: '20' },
    heartbeat: { type: 'string', default: '15s' },
    deadline: { type: 'string', default: '240' },
  },
});
const STREAMS = Number(opt.streams);
const POLLS = Number(opt.polls);
const IDLE_S = Number(opt.idle);
const log = (msg) => process.stderr.write(`[bench E] ${msg}\n`);

// Each client socket is one descriptor here and one in the gateway; both processes need room for N + margin.
const need = Math.max(STREAMS, POLLS) + 1000;
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
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'asyncgate-bench-e-'));
  const args = ['--expose-gc', '--import', pathToFileURL(PROBE).href, CLI, 'serve', '--upstream', upstreamUrl, '--port', '0', '--db', `sqlite:${path.join(tmp, 'jobs.db')}`, '--max-wait', '10m', '--max-queued', '1000000', '--events-heartbeat', opt.heartbeat];
  const gw = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ASYNCGATE_LOG_LEVEL: 'info' } });
  const probeWaiters = [];
  readline.createInterface({ input: gw.stderr }).on('line', (line) => {
    if (line.startsWith('{"asyncgateMemoryProbe"')) probeWaiters.shift()?.(JSON.parse(line).asyncgateMemoryProbe);
    else log(`gateway: ${line}`);
  });
  const sockets = new Set();
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
    const health = () => getJson(host, port, '/_async/health');

    const n = Math.max(STREAMS, POLLS);
    log(`submitting ${n} jobs`);
    const ids = await submitJobs(host, port, n);

    /** Settle, snapshot memory (after GC), then CPU over the idle interval. */
    const measure = async (label, open, heartbeats) => {
      await sleep(2_000);
      const mem = await memory();
      const t0 = cpuTicks(gw.pid);
      const w0 = performance.now();
      const h0 = heartbeats?.count ?? 0;
      await sleep(IDLE_S * 1000);
      const note = heartbeats ? `${heartbeats.count - h0} heartbeats received in the idle window` : undefined;
      const cpuPct = (100 * (cpuTicks(gw.pid) - t0)) / TICKS_PER_S / ((performance.now() - w0) / 1000);
      const h = await health();
      log(`${label}: rss ${mb(mem.rss)} MB, heap ${mb(mem.heapUsed)} MB, CPU ${cpuPct.toFixed(2)}% of a core, watched ${h.watched}`);
      return { label, open, ...mem, cpuPct, watched: h.watched, note };
    };

    const rows = [];
    rows.push(await measure('no client connections', 0));

    log(`opening ${STREAMS} event streams`);
    const streamHeartbeats = { count: 0 };
    const streams = await openMany(ids.slice(0, STREAMS), (id) => openRaw(host, port, `/_async/jobs/${id}/events`, {}, /event: status/, sockets, streamHeartbeats));
    rows.push(await measure(`${STREAMS} idle event streams`, streams.length, streamHeartbeats));
    for (const s of streams) s.destroy();
    await until(async () => (await health()).watched === 0, 30_000, 'the watched count did not return to 0 after the streams closed');
    log('streams closed; watched back to 0');
    // Memory once they are gone: the long polls are measured against this (and it shows nothing was kept).
    await sleep(2_000);
    const afterStreams = { label: 'event streams closed', open: 0, ...(await memory()) };
    rows.push(afterStreams);

    log(`opening ${POLLS} long polls`);
    const polls = await openMany(ids.slice(0, POLLS), (id) => openRaw(host, port, `/_async/jobs/${id}`, { prefer: 'wait=600' }, null, sockets));
    await until(async () => (await health()).watched === POLLS, 30_000, 'not every long poll is waiting');
    rows.push({ ...(await measure(`${POLLS} idle long polls`, polls.length)), base: afterStreams });
    for (const s of polls) s.destroy();
    await until(async () => (await health()).watched === 0, 30_000, 'the watched count did not return to 0 after the long polls closed');

    report(rows);
  } finally {
    for (const s of sockets) s.destroy();
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
    `Section E: idle connections on one gateway process (node ${process.version}, ${os.cpus().length} cores; heartbeat ${opt.heartbeat}, idle window ${IDLE_S} s)`,
    '',
    '| state | open | RSS | live heap (after GC) | RSS per connection | heap per connection | CPU over the idle window | |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const per = (field) => (r.open ? `${((r[field] - (r.base ?? baseRow)[field]) / r.open / 1024).toFixed(1)} KB` : '');
    const cpu = r.cpuPct === undefined ? '' : `${r.cpuPct.toFixed(2)}% of a core`;
    lines.push(`| ${r.label} | ${r.open} | ${mb(r.rss)} MB | ${mb(r.heapUsed)} MB | ${per('rss')} | ${per('heapUsed')} | ${cpu} | ${r.note ?? ''} |`);
  }
  lines.push('', 'Per-connection figures: the difference from the row before the connections were opened (no client connections, or event streams closed), divided by the count.');
  lines.push('After each phase the client sockets were closed and the gateway\'s watched-job count (`/_async/health`) went back to 0.');
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function until(fn, timeoutMs, message) {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(message);
    await sleep(100);
  }
}

function getJson(host, port, p) {
  return new Promise((resolve, reject) => {
    request({ host, port, path: p, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
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

/**
 * A raw HTTP/1.1 GET on its own socket: resolves once `ready` matched what came back (the first event of a
 * stream), or at once when `ready` is null (a long poll answers nothing until the job changes).
 */
function openRaw(host, port, p, headers, ready, sockets, heartbeats) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let seen = '';
    let done = false;
    socket.on('error', (e) => (done ? undefined : reject(e)));
    socket.on('connect', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`GET ${p} HTTP/1.1\r\nHost: ${host}:${port}\r\n${extra}\r\n`);
      if (!ready) {
        done = true;
        resolve(socket);
      }
    });
    socket.on('data', (d) => {
      const text = d.toString();
      if (heartbeats) heartbeats.count += text.split(': keep-alive').length - 1;
      if (done) return;
      seen += text;
      if (ready.test(seen)) {
        done = true;
        resolve(socket);
      }
    });
  });
}
