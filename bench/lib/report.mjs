// The markdown report of a run: the machine, the table of sections A–C, CPU per load, section D's part
// (sections/callbacks-report.mjs), what the gateway probe saw, and the CPU profiles when --cpu-prof was on.
import { reportCallbacks } from '../sections/callbacks-report.mjs';
import { fmt, ms3, verdict } from './stats.mjs';

const statusList = (s) => Object.entries(s.statusCodes).map(([k, v]) => `${v}×${k}`).join(', ') || 'none';
const cleanRun = (s) => s.errors === 0 && s.timeouts === 0 && s.expected === s.total;

export function report(r) {
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
