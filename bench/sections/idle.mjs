// Section E: idle connections. RSS, heap and CPU of one gateway holding 5,000 event streams, then 5,000 long
// polls. The work is bench/idle-streams.mjs (runnable on its own, with its own options); the driver runs it
// as a child after the other sections, with its defaults, and appends its markdown to the report.
import { spawnSync } from 'node:child_process';
import { IDLE_STREAMS, ROOT, log } from '../lib/paths.mjs';

/** Runs bench/idle-streams.mjs (the driver passes no args: its defaults) and returns its report (markdown). */
export function sectionIdle(args = []) {
  log('section E: idle event streams and long polls (bench/idle-streams.mjs)');
  const e = spawnSync(process.execPath, [IDLE_STREAMS, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 2], encoding: 'utf8' });
  if (e.status !== 0) throw new Error(`section E failed (exit ${e.status ?? e.signal})`);
  return e.stdout;
}
