#!/usr/bin/env node
// Issue 14, "use every core": asyncgate with its default worker count and with `--workers 1`, against the
// Fastify + BullMQ baseline (bench/baseline-bullmq.mjs) on the shared Redis as it is and on a private Redis
// with `--appendonly yes --appendfsync always` (durable like asyncgate's SQLite commits).
//
//   node bench/cores.mjs [--rounds 5] [--jobs 20000] [--quick] [--json FILE] ...   (see --help)
//
// Variants run interleaved in rounds, each in every round, the order rotated per round; every load gets a
// fresh gateway (fresh SQLite temp file) or a fresh BullMQ queue. Loads per variant:
//   open     a burst of --jobs jobs (Prefer: respond-async + Callback: <receiver>), --inflight submissions in
//            flight; jobs/s = callbacks received / (last callback - first submission) (lib/callback-load runD1)
//   closed   section D2: --inflight jobs in flight end to end, --warmup s + --duration s (runD2)
//   accept   asyncgate only: section A (durable 202/s) and A2 (202/s while each job holds the upstream 30 s)
//            against the raw node:http ceiling of the same round (sections/accept.mjs)
// CPU per job of every process: the gateway counted as a process tree (the cluster primary and every child
// of it, re-scanned during the load: lib/proctree.mjs), redis-server, the upstream, the receiver, this
// process; and the machine's idle share over each load (/proc/stat).
//
// `--workers N` is only passed for an explicit count (--workers LIST, default 1). A build without the flag
// ("asyncgate: unknown flag '--workers'") marks that variant unavailable; the default variant then is the
// single process of today. Markdown report on stdout, progress on stderr.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { busyBeforeRun, countProcessTrees } from './lib/cpu.mjs';
import { ensureDeps, packageVersion } from './lib/deps.mjs';
import { BASELINE, CLI, log } from './lib/paths.mjs';
import { startChild, startGateway, startServer, stopAll, stopChild } from './lib/processes.mjs';
import { fmt } from './lib/stats.mjs';
import { firstLine, fromAccept, fromD1, fromD2, liveGateways, stopTree, unknownWorkersFlag } from './lib/cores-lib.mjs';

const HELP = `Usage: node bench/cores.mjs [options]      (build first; ASYNCGATE_BENCH_CLI=path/to/cli/main.js names a build)

  --rounds N            rounds; every variant runs in every round, order rotated (default 5)
  --jobs N              open loop: jobs in the burst (default 20000)
  --inflight N          open loop: submissions in flight; closed loop: jobs in flight (default 64)
  --warmup S            closed loop: warm-up seconds (default 2)
  --duration S          closed loop: measured seconds (default 8)
  --accept-warmup S     A / A2: warm-up seconds (default 1)
  --accept-duration S   A / A2: measured seconds (default 4)
  --connections N       A / A2: autocannon connections (default 50)
  --drain S             open / closed loop: longest wait for outstanding callbacks (default 60)
  --workers LIST        explicit worker counts to run as extra asyncgate variants, "--workers N" each
                        (default 1; "none" for none). The default variant passes no --workers flag
  --variants LIST       which variants (default all): asyncgate, asyncgate-wN, bullmq, bullmq-aof
  --loads LIST          which loads (default open,closed,accept): accept = A and A2, asyncgate only
  --redis URL           the shared Redis the "as is" baseline uses (default redis://127.0.0.1:6379; never
                        reconfigured)
  --redis-server PATH   the redis-server binary for the private durable Redis (default redis-server)
  --max-queued N        --max-queued for the gateway (default 10000000: a burst must not meet back-pressure)
  --quick               smoke test: 1 round, 5000 jobs, 1 s + 3 s closed loop, 1 s + 2 s accept (the figures
                        mean little)
  --json FILE           also write every raw figure as JSON
  -h, --help

Default runtime about 11-12 minutes on 2 cores (5 rounds x 4 variants, about 140 s a round); --quick about 40 s.
`;

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string' },
    jobs: { type: 'string' },
    inflight: { type: 'string' },
    warmup: { type: 'string' },
    duration: { type: 'string' },
    'accept-warmup': { type: 'string' },
    'accept-duration': { type: 'string' },
    connections: { type: 'string' },
    drain: { type: 'string' },
    workers: { type: 'string' },
    variants: { type: 'string' },
    loads: { type: 'string' },
    redis: { type: 'string' },
    'redis-server': { type: 'string' },
    'max-queued': { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const Q = opt.quick;
const num = (v, normal, quick) => Number(v ?? (Q ? quick : normal));
const s = {
  rounds: num(opt.rounds, 5, 1),
  jobs: num(opt.jobs, 20_000, 5_000),
  inflight: num(opt.inflight, 64, 64),
  warmup: num(opt.warmup, 2, 1),
  duration: num(opt.duration, 8, 3),
  acceptWarmup: num(opt['accept-warmup'], 1, 1),
  acceptDuration: num(opt['accept-duration'], 4, 2),
  connections: num(opt.connections, 50, 50),
  drainS: num(opt.drain, 60, 30),
  workers: (opt.workers ?? '1') === 'none' ? [] : (opt.workers ?? '1').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0),
  variants: opt.variants ? new Set(opt.variants.split(',').map((x) => x.trim())) : null,
  loads: new Set((opt.loads ?? 'open,closed,accept').split(',').map((x) => x.trim())),
  redis: opt.redis ?? 'redis://127.0.0.1:6379',
  redisServer: opt['redis-server'] ?? 'redis-server',
  maxQueued: opt['max-queued'] ?? '10000000',
  quick: Q,
  json: opt.json,
};
const loadAtStart = os.loadavg()[0];
const parallelism = os.availableParallelism?.() ?? os.cpus().length;

// ---------------------------------------------------------------------------------------------------------

async function main() {
  ensureDeps();
  const [cb, { acceptCeiling, sectionAccept, sectionAcceptLong }, { machineInfo }, { startPrivateRedis }, { coresReport }] = await Promise.all([
    import('./lib/callback-load.mjs'),
    import('./sections/accept.mjs'),
    import('./lib/machine.mjs'),
    import('./lib/private-redis.mjs'),
    import('./lib/cores-report.mjs'),
  ]);
  const { D_SECRET, receipts, rejectedCount, runD1, runD2, startReceiver, submitter, waitFor } = cb;
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npx tsc -p tsconfig.build.json --outDir DIR, then ASYNCGATE_BENCH_CLI=DIR/cli/main.js)`);
  countProcessTrees(true);

  let workersFlag = false;
  try {
    workersFlag = /--workers\b/.test(execFileSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (e) {
    workersFlag = /--workers\b/.test(`${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  log(`CLI ${CLI}; serve --workers ${workersFlag ? 'supported' : 'NOT supported by this build'}; os.availableParallelism() = ${parallelism}`);

  const variants = [
    { id: 'asyncgate', name: 'asyncgate, default workers', kind: 'asyncgate', args: [], processes: workersFlag ? parallelism : 1 },
    ...s.workers.map((n) => ({ id: `asyncgate-w${n}`, name: `asyncgate --workers ${n}`, kind: 'asyncgate', args: ['--workers', String(n)], processes: n })),
    { id: 'bullmq', name: 'BullMQ, Redis as is', kind: 'bullmq' },
    { id: 'bullmq-aof', name: 'BullMQ, Redis appendfsync always', kind: 'bullmq' },
  ].filter((v) => !s.variants || s.variants.has(v.id));
  if (!variants.length) throw new Error('--variants selects nothing');

  const busyBefore = await busyBeforeRun();

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'asyncgate-bench-cores-'));
  const started = Date.now();
  let privateRedis;
  const redisFacts = { shared: null, private: null };
  try {
    const [upstream, ceiling, receiver] = await Promise.all([startServer('upstream'), startServer('ceiling'), startReceiver()]);
    const aof = variants.find((v) => v.id === 'bullmq-aof');
    if (aof) {
      try {
        privateRedis = await startPrivateRedis(s.redisServer);
        aof.redis = privateRedis.url;
        redisFacts.private = { url: privateRedis.url, pid: privateRedis.pid, args: `redis-server ${privateRedis.args.map((a) => (a === '' ? "''" : a)).join(' ')}` };
        log(`private Redis ${privateRedis.url} (pid ${privateRedis.pid}, AOF fsync always, dir ${privateRedis.dir})`);
      } catch (e) {
        aof.unavailable = `private redis-server: ${firstLine(e)}`;
      }
    }
    const bq = variants.find((v) => v.id === 'bullmq');
    if (bq) bq.redis = s.redis;

    // Settings for lib/ (names as lib/options.mjs gives them)
    const dSettings = (v) => ({ dJobs: s.jobs, e2eInflight: s.inflight, drainS: s.drainS, warmup: s.warmup, duration: s.duration, maxQueued: s.maxQueued, probe: false, gatewayProcesses: v.processes });
    const aSettings = (v) => ({ connections: s.connections, warmup: s.acceptWarmup, duration: s.acceptDuration, maxQueued: s.maxQueued, probe: false, gatewayProcesses: v.processes });
    const noProbe = async () => null;
    const D_ARGS = ['--allow-callback-hosts', '127.0.0.1', '--signing-secret', D_SECRET];
    const rmDb = (file) => {
      for (const f of readdirSync(tmp)) if (f.startsWith(path.basename(file))) rmSync(path.join(tmp, f), { force: true });
    };

    async function asyncgateLoad(v, round, load) {
      const label = `${v.id}-r${round}-${load}`;
      const dbFile = path.join(tmp, `${label}.db`);
      try {
        if (load === 'accept' || load === 'acceptLong') {
          const ctx = { settings: aSettings(v), upstream, ceiling, dbFile };
          if (load === 'accept') {
            log(`  ${v.name}: A. accept, ${s.acceptWarmup} s + ${s.acceptDuration} s`);
            const a = await sectionAccept(ctx, { baseline: roundCeiling, gatewayArgs: v.args, label, drainMaxMs: 3_000, stop: (g) => stopTree(g) });
            return fromAccept(a);
          }
          log(`  ${v.name}: A2. accept with 30 s jobs, ${s.acceptWarmup} s + ${s.acceptDuration} s`);
          const a2 = await sectionAcceptLong(ctx, roundCeiling, { gatewayArgs: v.args, label, hardStop: (g) => stopTree(g, { hard: true }) });
          return fromAccept(a2);
        }
        const gateway = await startGateway(dSettings(v), upstream.url, dbFile, label, [...D_ARGS, ...v.args]);
        liveGateways.add(gateway);
        const procs = { system: gateway, upstream, receiver };
        try {
          if (load === 'open') {
            const sub = submitter(gateway.url, receiver.url, s.inflight, { asyncHeader: 'prefer' });
            log(`  ${v.name}: open loop, ${fmt(s.jobs)} jobs, ${s.inflight} in flight (${gateway.listeningLines} listening line(s))`);
            try {
              return { ...fromD1(await runD1(dSettings(v), sub, procs, noProbe)), warnings: gateway.warnings };
            } finally {
              await sub.close();
            }
          }
          const sub = submitter(gateway.url, receiver.url, s.inflight);
          log(`  ${v.name}: closed loop, ${s.inflight} in flight, ${s.warmup} s + ${s.duration} s`);
          try {
            const d2 = await runD2(dSettings(v), sub, procs, noProbe);
            return { ...fromD2(d2, rejectedCount(d2)), warnings: gateway.warnings };
          } finally {
            await sub.close();
          }
        } finally {
          await stopTree(gateway);
        }
      } finally {
        rmDb(dbFile);
      }
    }

    async function baselineLoad(v, round, load) {
      const queue = `asyncgate-bench-cores-${process.pid}-${Date.now().toString(36)}-${load}`;
      let facts;
      let cleanup;
      const base = await startChild(`baseline (${v.id})`, [BASELINE, '--upstream', upstream.url, '--secret', D_SECRET, '--queue', queue, '--redis', v.redis], {
        ready: (msg) => {
          if (msg.obliterated) cleanup = msg;
          if (msg.listening) facts = msg;
          return msg.listening;
        },
      });
      try {
        if (v.id === 'bullmq' && !redisFacts.shared) redisFacts.shared = facts.redis;
        const procs = { system: base, upstream, receiver };
        if (Number.isInteger(facts.redis?.pid) && existsSync(`/proc/${facts.redis.pid}/stat`)) procs.redis = { proc: { pid: facts.redis.pid } };
        let out;
        if (load === 'open') {
          const sub = submitter(base.url, receiver.url, s.inflight, { asyncHeader: 'prefer' });
          log(`  ${v.name}: open loop, ${fmt(s.jobs)} jobs, ${s.inflight} in flight (queue ${queue} on ${v.redis})`);
          try {
            out = fromD1(await runD1(dSettings(v), sub, procs, noProbe));
          } finally {
            await sub.close();
          }
        } else {
          const sub = submitter(base.url, receiver.url, s.inflight);
          log(`  ${v.name}: closed loop, ${s.inflight} in flight, ${s.warmup} s + ${s.duration} s`);
          try {
            const d2 = await runD2(dSettings(v), sub, procs, noProbe);
            out = fromD2(d2, rejectedCount(d2));
          } finally {
            await sub.close();
          }
        }
        return { ...out, queue, redis: facts.redis };
      } finally {
        await stopChild(base, 30_000);
        await waitFor(() => cleanup, 1_000);
        if (!cleanup || cleanup.keysLeft) log(`  ${v.name}: queue ${queue} ${cleanup ? `left ${cleanup.keysLeft} keys` : 'cleanup not confirmed'}`);
      }
    }

    let roundCeiling;
    const rounds = [];
    for (let r = 0; r < s.rounds; r++) {
      const live = variants.filter((v) => !v.unavailable);
      const order = live.map((_, i) => live[(i + r) % live.length]);
      const round = { round: r + 1, order: order.map((v) => v.id), ceiling: null, results: {} };
      rounds.push(round);
      const t0 = Date.now();
      log(`round ${r + 1}/${s.rounds}: ${round.order.join(' → ')}`);
      roundCeiling = undefined;
      if (s.loads.has('accept') && live.some((v) => v.kind === 'asyncgate')) {
        roundCeiling = await acceptCeiling({ settings: aSettings({ processes: 1 }), ceiling });
        round.ceiling = roundCeiling;
      }
      for (const v of order) {
        if (v.unavailable) continue;
        const res = (round.results[v.id] = {});
        const loads = ['open', 'closed', ...(v.kind === 'asyncgate' ? ['accept', 'acceptLong'] : [])].filter((l) => s.loads.has(l === 'acceptLong' ? 'accept' : l));
        for (const load of loads) {
          try {
            res[load] = v.kind === 'asyncgate' ? await asyncgateLoad(v, r + 1, load) : await baselineLoad(v, r + 1, load);
          } catch (e) {
            if (unknownWorkersFlag(e)) {
              v.unavailable = `this build of \`asyncgate serve\` has no --workers flag (${firstLine(e).split(' … ').find((x) => /unknown/i.test(x))})`;
              log(`  ${v.name}: unavailable: ${v.unavailable}`);
              delete round.results[v.id];
              break;
            }
            log(`  ${v.name}: ${load} failed: ${firstLine(e)}`);
            res[load] = { error: firstLine(e) };
          }
        }
      }
      log(`round ${r + 1} done in ${fmt((Date.now() - t0) / 1000)} s`);
    }
    await stopAll();

    const results = {
      when: new Date().toISOString(),
      cli: CLI,
      workersFlag,
      parallelism,
      machine: machineInfo({ tmpDir: tmp, loadAtStart, busyBefore }),
      settings: { ...s, variants: variants.map((v) => v.id), loads: [...s.loads] },
      versions: { fastify: packageVersion('fastify'), bullmq: packageVersion('bullmq'), ioredis: packageVersion('ioredis'), undici: packageVersion('undici') },
      redis: redisFacts,
      variants: variants.map(({ id, name, kind, args, processes, redis, unavailable }) => ({ id, name, kind, args, processes, redis, unavailable })),
      rounds,
      unknownReceipts: receipts.unknown,
      elapsedS: (Date.now() - started) / 1000,
    };
    process.stdout.write(`${coresReport(results)}\n`);
    if (s.json) writeFileSync(s.json, `${JSON.stringify(results, null, 2)}\n`);
    log(`done in ${fmt(results.elapsedS, 1)} s`);
  } finally {
    await stopAll();
    for (const g of [...liveGateways]) await stopTree(g, { hard: true });
    if (privateRedis) await privateRedis.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch(async (error) => {
  process.stderr.write(`[bench] failed: ${error.stack ?? error}\n`);
  await stopAll();
  process.exitCode = 1;
});
