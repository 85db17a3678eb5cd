// CPU accounting from /proc (Linux): per child, this process, and the whole machine.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from './paths.mjs';
import { allProcs, othersBetween, treeSampler } from './proctree.mjs';
import { fmt } from './stats.mjs';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function procCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime + stime
  } catch {
    return NaN;
  }
}

export function machineTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, idle: f[3] + f[4] };
  } catch {
    return null;
  }
}

/**
 * Is the machine idle? How busy it is over one second, in percent (NaN without /proc), with a warning above
 * 20%: other users' test suites on a 2-core box move the numbers a lot.
 */
export async function busyBeforeRun() {
  const idle0 = machineTicks();
  await sleep(1_000);
  const idle1 = machineTicks();
  const busy = idle0 && idle1 ? 100 * (1 - (idle1.idle - idle0.idle) / (idle1.total - idle0.total)) : NaN;
  if (busy > 20) log(`warning: the machine is ${fmt(busy)}% busy before the run started; numbers will be disturbed`);
  return busy;
}

let treeMode = false;
/**
 * From now on, withCpu counts each named process as a tree: the process and all its descendants, re-scanned
 * during the load (lib/proctree.mjs; for a gateway that forks workers). Off by default: bench/run.mjs and the
 * other benches count the one process.
 */
export const countProcessTrees = (on = true) => {
  treeMode = on;
};

/**
 * Run `fn` and report CPU use over it: each named process as % of one core, the machine as % of all cores.
 * Also: cpuMs (the same in ms), idlePct (the machine's idle share over fn, from /proc/stat), and in tree mode
 * trees (per process: processes seen, CPU not accounted for).
 */
export async function withCpu(procs, fn) {
  const t0 = process.hrtime.bigint();
  const sampler = treeMode ? treeSampler(Object.fromEntries(Object.entries(procs).map(([k, c]) => [k, c.proc.pid]))) : null;
  const all0 = treeMode ? allProcs() : null;
  const before = sampler ? {} : Object.fromEntries(Object.entries(procs).map(([k, c]) => [k, procCpuMs(c.proc.pid)]));
  const self0 = process.cpuUsage();
  const m0 = machineTicks();
  const result = await fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const self = process.cpuUsage(self0);
  const m1 = machineTicks();
  const trees = sampler?.stop();
  // Tree mode: the rest of the machine by process (kernel threads apart), our trees and this process left out.
  const rest = all0 ? othersBetween(all0, allProcs(), new Set([process.pid, ...Object.values(trees).flatMap((t) => t.pids)])) : null;
  const cpuMs = { 'load generator (bench)': (self.user + self.system) / 1000 };
  for (const [k, c] of Object.entries(procs)) cpuMs[k] = trees ? trees[k].ms : procCpuMs(c.proc.pid) - before[k];
  const cpu = Object.fromEntries(Object.entries(cpuMs).map(([k, v]) => [k, (100 * v) / wallMs]));
  if (m0 && m1) {
    cpu.machine = 100 * (1 - (m1.idle - m0.idle) / (m1.total - m0.total));
    // Everything else on the machine (other users' jobs, the kernel's softirq work not charged to us), in
    // % of one core: a sanity check that the run had the machine to itself.
    const ours = Object.entries(cpu).filter(([k]) => k !== 'machine').reduce((a, [, v]) => a + v, 0);
    cpu.others = Math.max(0, (cpu.machine * os.cpus().length) - ours);
  }
  if (rest) {
    cpu['kernel threads'] = (100 * rest.kernelMs) / wallMs;
    cpu['other processes'] = (100 * rest.otherMs) / wallMs;
  }
  const idlePct = m0 && m1 ? 100 - cpu.machine : NaN;
  return { result, cpu, cpuMs, idlePct, trees, rest, wallMs };
}
