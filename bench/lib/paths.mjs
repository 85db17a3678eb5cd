// Where things are: the bench folder, the repository root, the built CLI and the bench's child scripts.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.resolve(BENCH, '..');
/** The built CLI (`ASYNCGATE_BENCH_CLI` names another build). */
export const CLI = process.env.ASYNCGATE_BENCH_CLI ?? path.join(ROOT, 'dist', 'cli', 'main.js');
export const SERVERS = path.join(BENCH, 'servers.mjs');
export const PROBE = path.join(BENCH, 'gateway-probe.mjs');
export const BASELINE = path.join(BENCH, 'baseline-bullmq.mjs');
export const IDLE_STREAMS = path.join(BENCH, 'idle-streams.mjs');

export const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
