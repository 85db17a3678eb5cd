// bench/cores.mjs's markdown report: per load, the median over rounds (min–max) of jobs/s, CPU ms per job of
// every process, the machine's idle share, and the ratios asyncgate / baseline (and A, A2 / the ceiling).
import { fmt } from './stats.mjs';

export const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (xs, d = 0) => {
  const s = xs.filter(Number.isFinite);
  if (!s.length) return 'n/a';
  const med = fmt(median(s), d);
  return s.length > 1 ? `${med} (${fmt(Math.min(...s), d)}–${fmt(Math.max(...s), d)})` : med;
};

/** kernel threads / other processes / unattributed (softirq, short-lived processes), medians, % of one core. */
const notOurs = (xs) =>
  [
    median(xs.map((x) => x.kernelPct)),
    median(xs.map((x) => x.otherProcPct)),
    median(xs.map((x) => Math.max(0, x.othersPct - (x.kernelPct ?? 0) - (x.otherProcPct ?? 0)))),
  ].map((v) => fmt(v)).join(' / ');

/** The CPU columns, in this order: the system under test, its Redis, the upstream, the receiver, the bench. */
export const CPU_KEYS = [
  ['system', 'gateway tree / baseline'],
  ['redis', 'redis-server'],
  ['upstream', 'upstream'],
  ['receiver', 'receiver'],
  ['load generator (bench)', 'load generator'],
];

export const LOADS = {
  open: 'Open loop: a burst of jobs, first submission → last callback',
  closed: 'Closed loop (D2): jobs kept in flight end to end',
  accept: 'A. accept: durable 202/s (the upstream answers at once)',
  acceptLong: 'A2. accept while every job holds the upstream 30 s',
};

export function coresReport(r) {
  const L = [];
  const m = r.machine;
  const s = r.settings;
  L.push('## asyncgate: every core (bench/cores.mjs)', '');
  L.push(`Machine: ${m.cpu}, ${m.cores} cores (os.availableParallelism() ${r.parallelism}), ${fmt(m.ramGiB, 1)} GiB RAM, Node ${m.node}, ${m.os}. ` +
    `4 KiB write + fsync in the temp folder: p50 ${fmt(m.fsyncMs.p50, 2)} ms, p99 ${fmt(m.fsyncMs.p99, 2)} ms. Load average (1 min) at start: ${fmt(m.loadAvgAtStart, 2)}; machine ${fmt(m.busyBeforePct)}% busy in the second before.`);
  L.push(`asyncgate ${m.asyncgate} (CLI ${r.cli}; \`serve --workers\` ${r.workersFlag ? 'supported' : '**not in this build**: "default workers" is the single process'}); ` +
    `Fastify ${r.versions.fastify} + BullMQ ${r.versions.bullmq} + undici ${r.versions.undici}; shared Redis ${r.redis.shared?.version ?? '?'} (\`save "${r.redis.shared?.save ?? '?'}"\`, \`appendonly ${r.redis.shared?.appendonly ?? '?'}\`); ` +
    `private Redis \`${r.redis.private?.args ?? 'not started'}\`.`);
  L.push(`${s.rounds} round(s), every variant in every round, the order rotated per round, each load on a fresh gateway (fresh SQLite file) or a fresh BullMQ queue. ` +
    `Open loop: ${fmt(s.jobs)} jobs (\`Prefer: respond-async\` + \`Callback\`), ${s.inflight} submissions in flight, after ${Math.min(300, s.jobs)} warm-up jobs; jobs/s = callbacks received ÷ (last callback − first submission). ` +
    `Closed loop: ${s.inflight} jobs in flight end to end (\`Pragma: redirect\` + \`Callback\`), ${s.warmup} s warm-up + ${s.duration} s measured. ` +
    `A / A2: autocannon, ${s.connections} connections, ${s.acceptWarmup} s + ${s.acceptDuration} s, against the raw node:http ceiling measured in the same round. ` +
    `Gateway run with \`--max-queued ${s.maxQueued}\`, no probe. Figures: median over rounds (min–max). CPU: ms of CPU per job (the gateway counts its primary and every child process, re-scanned during the load), from /proc; idle: the machine's idle share during the load.`);
  L.push('');
  const unavailable = r.variants.filter((v) => v.unavailable);
  for (const v of unavailable) L.push(`- **${v.name}: unavailable** (${v.unavailable})`);
  if (unavailable.length) L.push('');

  const runs = (vid, load) => r.rounds.map((x) => x.results[vid]?.[load]).filter((x) => x && !x.error);
  const errs = (vid, load) => r.rounds.map((x) => x.results[vid]?.[load]).filter((x) => x?.error);
  const paired = (vid, bid, load) =>
    r.rounds.map((x) => {
      const a = x.results[vid]?.[load];
      const b = x.results[bid]?.[load];
      return a && b && !a.error && !b.error ? a.jobsPerSec / b.jobsPerSec : NaN;
    });
  const baselines = r.variants.filter((v) => v.kind === 'bullmq' && !v.unavailable);
  const gateways = r.variants.filter((v) => v.kind === 'asyncgate' && !v.unavailable);

  for (const load of ['open', 'closed']) {
    L.push(`### ${LOADS[load]}`, '');
    const ratioCols = baselines.map((b) => `÷ ${b.name}`);
    L.push(`| variant | jobs/s | ${ratioCols.join(' | ')}${ratioCols.length ? ' | ' : ''}${CPU_KEYS.map(([, n]) => `CPU ms/job: ${n}`).join(' | ')} | CPU ms/job: all | machine idle % | not ours, % of a core: kernel threads / other processes / unattributed | processes (max alive) | lost / dup / bad sig / non-202 |`);
    L.push(`|---|---:|${ratioCols.map(() => '---:|').join('')}${CPU_KEYS.map(() => '---:|').join('')}---:|---:|---:|---:|---|`);
    for (const v of r.variants.filter((x) => !x.unavailable)) {
      const xs = runs(v.id, load);
      const e = errs(v.id, load);
      if (!xs.length) {
        L.push(`| ${v.name} | ${e.length ? `failed: ${e[0].error}` : 'not run'} |`);
        continue;
      }
      const ratios = baselines.map((b) => (v.kind === 'asyncgate' ? `${spread(paired(v.id, b.id, load), 2)}×` : ''));
      const cpu = CPU_KEYS.map(([k]) => (xs.some((x) => Number.isFinite(x.cpuPerJob[k])) ? spread(xs.map((x) => x.cpuPerJob[k]), 3) : ''));
      const lost = xs.reduce((a, x) => a + x.lost, 0);
      const dup = xs.reduce((a, x) => a + x.duplicates, 0);
      const bad = xs.reduce((a, x) => a + x.badSignatures, 0);
      const rej = xs.reduce((a, x) => a + x.notAccepted, 0);
      const procs = Math.max(...xs.map((x) => x.processes ?? 1));
      L.push(`| ${v.name} | ${spread(xs.map((x) => x.jobsPerSec))} | ${ratios.join(' | ')}${ratios.length ? ' | ' : ''}${cpu.join(' | ')} | ${spread(xs.map((x) => x.cpuPerJobAll), 3)} | ${spread(xs.map((x) => x.idlePct))} | ${notOurs(xs)} | ${procs} | ${lost} / ${dup} / ${bad} / ${rej}${e.length ? ` (${e.length} failed)` : ''} |`);
    }
    L.push('');
  }

  for (const load of ['accept', 'acceptLong']) {
    if (!gateways.some((v) => runs(v.id, load).length)) continue;
    L.push(`### ${LOADS[load]}`, '');
    L.push('| variant | 202/s | ceiling 202/s (same round) | ÷ ceiling | CPU ms/job: gateway tree | CPU ms/job: upstream | CPU ms/job: load generator | machine idle % | not ours, % of a core: kernel threads / other processes / unattributed | processes (max alive) | non-202 / errors / timeouts |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const v of gateways) {
      const xs = runs(v.id, load);
      if (!xs.length) {
        const e = errs(v.id, load);
        L.push(`| ${v.name} | ${e.length ? `failed: ${e[0].error}` : 'not run'} |`);
        continue;
      }
      const ratios = r.rounds.map((x) => {
        const a = x.results[v.id]?.[load];
        return a && !a.error && x.ceiling ? a.jobsPerSec / x.ceiling.rps : NaN;
      });
      L.push(`| ${v.name} | ${spread(xs.map((x) => x.jobsPerSec))} | ${spread(r.rounds.map((x) => x.ceiling?.rps ?? NaN))} | ${spread(ratios, 2)}× | ${spread(xs.map((x) => x.cpuPerJob.system), 3)} | ${spread(xs.map((x) => x.cpuPerJob.upstream), 3)} | ${spread(xs.map((x) => x.cpuPerJob['load generator (bench)']), 3)} | ${spread(xs.map((x) => x.idlePct))} | ${notOurs(xs)} | ${Math.max(...xs.map((x) => x.processes ?? 1))} | ${xs.reduce((a, x) => a + x.non2xx, 0)} / ${xs.reduce((a, x) => a + x.errors, 0)} / ${xs.reduce((a, x) => a + x.timeouts, 0)} |`);
    }
    L.push('');
  }
  if (r.rounds.some((x) => x.ceiling)) {
    L.push(`Ceiling (raw node:http 202, no storage): ${spread(r.rounds.map((x) => x.ceiling?.rps ?? NaN))} 202/s, machine idle ${spread(r.rounds.map((x) => x.ceiling?.idlePct ?? NaN))}%.`, '');
  }
  const all = r.rounds.flatMap((x) => Object.entries(x.results).flatMap(([vid, v]) => Object.entries(v).map(([load, y]) => ({ vid, load, round: x.round, ...y }))));
  const busy = all.filter((x) => x.otherProcPct > 20);
  if (busy.length) {
    L.push(`**Note: in ${busy.length} load(s), processes outside the bench took more than 20% of a core: the machine was not the bench's alone; compare rounds, or rerun.** ` +
      busy.slice(0, 6).map((x) => `${x.vid} ${x.load} (round ${x.round}): ${fmt(x.otherProcPct)}%, most ${(x.topOthers ?? []).map((t) => `${t.comm} (pid ${t.pid}${t.cmd ? `: \`${t.cmd.replaceAll('`', "'").replaceAll('|', '/')}\`` : ''}) ${fmt((100 * t.ms) / (x.raw.cpuWallMs ?? x.raw.gateway?.cpuWallMs ?? NaN))}%`).join(', ')}`).join('; '), '');
  }
  const kernel = all.filter((x) => x.kernelPct > 20);
  if (kernel.length) {
    L.push(`Kernel threads (kworkers, the filesystem journal's fsync work, ksoftirqd) took more than 20% of a core in: ${kernel.map((x) => `${x.vid} ${x.load} (${fmt(x.kernelPct)}%)`).join(', ')}. That is CPU the system under test caused but is not charged to it in the per-job columns.`, '');
  }
  L.push(`Order per round: ${r.rounds.map((x) => x.order.join(' → ')).join('; ')}. Elapsed ${fmt(r.elapsedS)} s.`);
  return L.join('\n');
}
