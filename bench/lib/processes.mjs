// Child processes: started here, always stopped here (SIGTERM, then SIGKILL), even on error. Every server of
// a run is one: the gateway, its upstream, the ceiling, section D's receiver and baseline.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { CLI, PROBE, ROOT, SERVERS, log } from './paths.mjs';

const children = new Set();

export function startChild(name, args, { env = {}, ready, onLine }) {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'], // stdin stays open: the servers (and the probe) exit when it closes
  });
  const child = { name, proc, url: undefined, tail: [], warnings: 0, probeWaiters: [], exited: false };
  children.add(child);
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  child.exitedPromise = exited.then((r) => {
    child.exited = true;
    children.delete(child);
    return r;
  });
  const keep = (line) => {
    child.tail.push(line);
    if (child.tail.length > 40) child.tail.shift();
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 15 s:\n${child.tail.join('\n')}`)), 15_000);
    readline.createInterface({ input: proc.stdout }).on('line', (line) => {
      if (onLine && line.charCodeAt(0) === 64 /* @ */) return onLine(line); // the receiver's receipts
      keep(line);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof msg.level === 'number' && msg.level >= 40) child.warnings++;
      const url = ready(msg);
      if (url && !child.url) {
        child.url = url;
        clearTimeout(timer);
        resolve(child);
      }
    });
    readline.createInterface({ input: proc.stderr }).on('line', (line) => {
      if (line.startsWith('{"asyncgateBenchProbe"')) {
        const w = child.probeWaiters.shift();
        if (w) w(JSON.parse(line).asyncgateBenchProbe);
        return;
      }
      keep(line);
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (!child.url) reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${child.tail.join('\n')}`));
    });
  });
}

export async function stopChild(child, timeoutMs = 8_000) {
  if (!child || child.exited) return;
  child.proc.kill('SIGTERM');
  const res = await Promise.race([child.exitedPromise, sleep(timeoutMs, null, { ref: false })]);
  if (res === null && !child.exited) {
    log(`${child.name} did not stop in ${timeoutMs} ms; SIGKILL`);
    child.proc.kill('SIGKILL');
    await child.exitedPromise;
  }
}

export async function stopAll() {
  await Promise.all([...children].map((c) => stopChild(c)));
}

process.on('exit', () => {
  for (const c of children) c.proc.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: stopping child processes`);
    stopAll().finally(() => process.exit(130));
  });
}

/** bench/servers.mjs in one of its modes: upstream, ceiling (receiver: see lib/callback-load.mjs). */
export const startServer = (mode) =>
  startChild(mode, [SERVERS, mode], { ready: (msg) => msg.listening });

/**
 * `asyncgate serve` in front of upstreamUrl on a SQLite file, with the run's probe, profiling and
 * --max-queued settings (s: the settings from lib/options.mjs). s.gatewayProcesses > 1 (bench/cores.mjs: a
 * cluster primary and its workers) also waits, at most 5 s, for that many "asyncgate listening" lines, so
 * that no keep-alive connection of the load is opened while only some workers listen.
 */
export async function startGateway(s, upstreamUrl, dbFile, label, extraArgs = []) {
  const args = [];
  if (s.probe) args.push('--import', pathToFileURL(PROBE).href);
  if (s.cpuProfDir) args.push('--cpu-prof', '--cpu-prof-dir', s.cpuProfDir, '--cpu-prof-name', `gateway-${label}.cpuprofile`);
  args.push(CLI, 'serve', '--upstream', upstreamUrl, '--port', '0', '--db', `sqlite:${dbFile}`);
  if (s.maxQueued) args.push('--max-queued', s.maxQueued);
  args.push(...extraArgs);
  let listening = 0;
  const gateway = await startChild(`gateway (${label})`, args, {
    env: { ASYNCGATE_LOG_LEVEL: 'info' },
    ready: (msg) => (msg.msg === 'asyncgate listening' && ++listening ? msg.url : undefined),
  });
  gateway.probeOn = s.probe;
  const want = s.gatewayProcesses ?? 1;
  const until = Date.now() + 5_000;
  while (listening < want && Date.now() < until && !gateway.exited) await sleep(20);
  gateway.listeningLines = listening;
  return gateway;
}

/** The probe's counters since the previous call (SIGUSR2 → one JSON line on the child's stderr). */
export function probe(gateway) {
  if (!gateway.probeOn || gateway.exited) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 2_000);
    gateway.probeWaiters.push((s) => {
      clearTimeout(timer);
      resolve(s);
    });
    gateway.proc.kill('SIGUSR2');
  });
}
