// bench/cores.mjs's helpers: stopping a gateway's process tree (the cluster primary and what outlived it),
// and each load's result normalised to the figures the report compares (jobs/s, CPU ms per job).
import { stopChild } from './processes.mjs';
import { log } from './paths.mjs';
import { procStat, treeNow } from './proctree.mjs';
// ---------------------------------------------------------------------------------------------------------
// Gateway trees: stop the primary, then whatever of its children outlived it (by pid, checked by start time)

export const liveGateways = new Set();
process.prependListener('exit', () => {
  // Before lib/processes.mjs SIGKILLs the primaries: their workers, found while the primaries still hold them.
  for (const g of liveGateways) for (const pid of treeNow(g.proc.pid).keys()) if (pid !== g.proc.pid) killPid(pid);
});
export function killPid(pid) {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

export async function stopTree(child, { hard = false } = {}) {
  const root = child.proc.pid;
  const kids = [...treeNow(root)].filter(([pid]) => pid !== root);
  if (hard) {
    if (!child.exited) child.proc.kill('SIGKILL');
    await child.exitedPromise;
  } else {
    await stopChild(child, 15_000);
  }
  liveGateways.delete(child);
  let left = 0;
  for (const [pid, st] of kids) {
    const now = procStat(pid);
    if (now && now.start === st.start && killPid(pid)) left++;
  }
  if (left) log(`${child.name}: ${left} child process(es) outlived the primary; SIGKILLed`);
  return left;
}

export const unknownWorkersFlag = (e) => /unknown (flag|option)[^\n]*--workers/i.test(String(e?.message ?? e));
export const firstLine = (e) => String(e?.message ?? e).split('\n').map((x) => x.trim()).filter(Boolean).slice(0, 3).join(' … ');

// ---------------------------------------------------------------------------------------------------------
// Normalising each load's result to the figures the report compares

export function perJob(cpuMs, jobs, keyMap = {}) {
  const out = {};
  for (const [k, v] of Object.entries(cpuMs ?? {})) out[keyMap[k] ?? k] = jobs > 0 ? v / jobs : NaN;
  return out;
}
export const sumAll = (pj) => Object.values(pj).reduce((a, v) => a + (Number.isFinite(v) ? v : 0), 0);

/** What every load reports of the CPU: per job, in all, and the machine's share that was not ours. */
function cpuFigures(load, cpuPerJob) {
  return {
    cpuPerJob,
    cpuPerJobAll: sumAll(cpuPerJob),
    idlePct: load.idlePct,
    othersPct: load.cpu.others,
    kernelPct: load.cpu['kernel threads'],
    otherProcPct: load.cpu['other processes'],
    topOthers: load.rest?.top,
  };
}

export function fromD1(d1) {
  const cpuPerJob = perJob(d1.cpuMs, d1.received);
  return {
    jobsPerSec: d1.received > 0 ? d1.received / (d1.lastReceiptMs / 1000) : NaN,
    jobs: d1.jobs,
    received: d1.received,
    lost: d1.accepted - d1.received,
    notAccepted: d1.jobs - d1.accepted,
    duplicates: d1.duplicates,
    badSignatures: d1.badSignatures,
    ...cpuFigures(d1, cpuPerJob),
    processes: d1.trees?.system?.maxAlive,
    raw: d1,
  };
}

export function fromD2(d2, rejected) {
  const cpuPerJob = perJob(d2.cpuMs, d2.completed);
  return {
    jobsPerSec: d2.jobsPerSec,
    completed: d2.completed,
    lost: d2.accepted - d2.received,
    notAccepted: rejected + d2.errors,
    duplicates: d2.duplicates,
    badSignatures: d2.badSignatures,
    ...cpuFigures(d2, cpuPerJob),
    processes: d2.trees?.system?.maxAlive,
    raw: d2,
  };
}

export function fromAccept(a) {
  const g = a.gateway;
  const cpuPerJob = perJob(g.cpuMs, g.expected, { gateway: 'system' });
  return {
    jobsPerSec: g.rps,
    accepted: g.expected,
    non2xx: g.non2xx,
    errors: g.errors,
    timeouts: g.timeouts,
    ...cpuFigures(g, cpuPerJob),
    processes: g.trees?.gateway?.maxAlive,
    raw: a,
  };
}

