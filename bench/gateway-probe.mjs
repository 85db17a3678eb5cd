// Preloaded into the gateway child (`node --import ./bench/gateway-probe.mjs dist/cli/main.js serve ...`) to
// observe it without touching src/:
//
//  - group commit: every top-level better-sqlite3 transaction is one COMMIT, followed by one fdatasync of the
//    WAL (on the thread pool since the WriteQueue syncs it itself; inside the COMMIT under synchronous=FULL
//    before that). WriteQueue hands it the batch of writes as an array. We count commits, writes per commit,
//    and the wall time spent inside them (the event loop is blocked for that time: better-sqlite3 is
//    synchronous).
//  - the event loop: utilization (ELU) and delay (monitorEventLoopDelay).
//
// On SIGUSR2 it writes one JSON line {"asyncgateBenchProbe": {...}} on stderr with the counters since the
// previous SIGUSR2, then resets them. It also exits the process when its stdin closes, so a gateway started
// by a benchmark that died does not outlive it. The cost is one wrapper call per transaction.
import { createRequire } from 'node:module';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

const require = createRequire(new URL('../package.json', import.meta.url));
const Database = require('better-sqlite3');

const BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000];
const fresh = () => ({
  commits: 0,
  writes: 0,
  commitNs: 0n,
  maxCommitNs: 0n,
  maxBatch: 0,
  batchHist: Object.fromEntries(BUCKETS.map((b) => [b, 0])),
});
let s = fresh();
let nested = 0;

const original = Database.prototype.transaction;
const wrap = (db, run) =>
  function (...args) {
    if (db.inTransaction) {
      nested++;
      return run.apply(this, args);
    }
    const outer = nested;
    const t0 = process.hrtime.bigint();
    try {
      return run.apply(this, args);
    } finally {
      const ns = process.hrtime.bigint() - t0;
      // WriteQueue passes the batch (an array of writes) to one plain transaction; single retried writes
      // run alone. Older versions nested a transaction per write: count those too.
      const batch = Array.isArray(args[0]) ? args[0].length : nested - outer || 1;
      nested = outer;
      s.commits++;
      s.writes += batch;
      s.commitNs += ns;
      if (ns > s.maxCommitNs) s.maxCommitNs = ns;
      if (batch > s.maxBatch) s.maxBatch = batch;
      const bucket = BUCKETS.find((b) => batch <= b) ?? BUCKETS.at(-1);
      s.batchHist[bucket]++;
    }
  };

Database.prototype.transaction = function transaction(fn) {
  const tx = original.call(this, fn);
  const wrapped = wrap(this, tx);
  for (const mode of ['default', 'deferred', 'immediate', 'exclusive']) wrapped[mode] = wrap(this, tx[mode]);
  return wrapped;
};

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
let elu = performance.eventLoopUtilization();
let cpu = process.cpuUsage();
let since = process.hrtime.bigint();

process.on('SIGUSR2', () => {
  const now = process.hrtime.bigint();
  const wallMs = Number(now - since) / 1e6;
  const e = performance.eventLoopUtilization(elu);
  const c = process.cpuUsage(cpu);
  const out = {
    wallMs,
    cpuUserMs: c.user / 1000,
    cpuSystemMs: c.system / 1000,
    elu: e.utilization,
    loopDelayMs: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
    commits: s.commits,
    writes: s.writes,
    commitMs: Number(s.commitNs) / 1e6,
    maxCommitMs: Number(s.maxCommitNs) / 1e6,
    maxBatch: s.maxBatch,
    batchHist: s.batchHist,
  };
  process.stderr.write(`${JSON.stringify({ asyncgateBenchProbe: out })}\n`);
  s = fresh();
  delay.reset();
  elu = performance.eventLoopUtilization();
  cpu = process.cpuUsage();
  since = now;
});

// unref: the watch must not keep a gateway alive that wants to exit (e.g. on a usage error).
process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM')).resume();
process.stdin.unref?.();
