// CPU accounting from /proc (Linux): per child, this process, and the whole machine.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const CLK_TCK = (() => {
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

/** Run `fn` and report CPU use over it: each named process as % of one core, the machine as % of all cores. */
export async function withCpu(procs, fn) {
  const t0 = process.hrtime.bigint();
  const before = Object.fromEntries(Object.entries(procs).map(([k, c]) => [k, procCpuMs(c.proc.pid)]));
  const self0 = process.cpuUsage();
  const m0 = machineTicks();
  const result = await fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const self = process.cpuUsage(self0);
  const m1 = machineTicks();
  const cpu = { 'load generator (bench)': (100 * (self.user + self.system)) / 1000 / wallMs };
  for (const [k, c] of Object.entries(procs)) cpu[k] = (100 * (procCpuMs(c.proc.pid) - before[k])) / wallMs;
  if (m0 && m1) {
    cpu.machine = 100 * (1 - (m1.idle - m0.idle) / (m1.total - m0.total));
    // Everything else on the machine (other users' jobs, the kernel's softirq work not charged to us), in
    // % of one core: a sanity check that the run had the machine to itself.
    const ours = Object.entries(cpu).filter(([k]) => k !== 'machine').reduce((a, [, v]) => a + v, 0);
    cpu.others = Math.max(0, (cpu.machine * os.cpus().length) - ours);
  }
  return { result, cpu, wallMs };
}
