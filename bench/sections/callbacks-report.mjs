// Section D's part of the report: both systems side by side, what each persists, CPU, checks.
import { rejectedCount } from '../lib/callback-load.mjs';
import { fmt, verdict } from '../lib/stats.mjs';

/** CPU time (ms, all cores) the system under test (+ its Redis) spent per job completed in D2's window. */
function cpuPerJob(x) {
  if (!x.completed) return 'n/a';
  const pct = (x.cpu.system ?? 0) + (x.cpu.redis ?? 0);
  const ms = (pct / 100) * x.windowS * 1000 / x.completed;
  return `${fmt(ms, 3)} ms (${fmt(x.cpu.system ?? 0)}%${x.cpu.redis !== undefined ? ` + ${fmt(x.cpu.redis)}%` : ''} of a core)`;
}

export function reportCallbacks(L, r, d, cpuRow) {
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
