// bench/ has its own package.json: install it on first use, and read the versions the report names.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH, log } from './paths.mjs';

const BENCH_DEPS = ['autocannon', 'undici', 'fastify', 'bullmq', 'ioredis'];

export function ensureDeps() {
  if (BENCH_DEPS.every((dep) => existsSync(path.join(BENCH, 'node_modules', dep, 'package.json')))) return;
  log('installing bench dependencies (npm install in bench/) ...');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], {
    cwd: BENCH,
    stdio: ['ignore', 2, 2],
    shell: process.platform === 'win32',
  });
  if (r.status !== 0) throw new Error(`npm install in bench/ failed (exit ${r.status ?? r.signal})`);
}

/** The version of an installed bench dependency, or 'missing'. */
export const packageVersion = (name) => {
  try {
    return JSON.parse(readFileSync(path.join(BENCH, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'missing';
  }
};
