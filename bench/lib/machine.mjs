// The facts about the machine and the code that head the report.
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH, ROOT } from './paths.mjs';
import { percentile } from './stats.mjs';

/** What one small write + fsync costs in the folder holding the SQLite file (the floor of a group commit). */
function fsyncLatency(dir, n = 200) {
  const file = path.join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(4096, 1);
  const t = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, buf, 0, buf.length, (i % 16) * 4096);
      fsyncSync(fd);
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  t.sort((x, y) => x - y);
  return { p50: percentile(t, 0.5), p99: percentile(t, 0.99) };
}

export function machineInfo({ tmpDir, loadAtStart, busyBefore }) {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (+ uncommitted changes in src/)';
  } catch {
    // not a git checkout
  }
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    ramGiB: os.totalmem() / 2 ** 30,
    loadAvgAtStart: loadAtStart,
    busyBeforePct: busyBefore,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    asyncgate: `${pkg.version} @ ${commit}`,
    fsyncMs: fsyncLatency(tmpDir),
    autocannon: JSON.parse(readFileSync(path.join(BENCH, 'node_modules', 'autocannon', 'package.json'), 'utf8')).version,
  };
}
