// A private redis-server for bench/cores.mjs: durable the way asyncgate is (`--appendonly yes --appendfsync
// always`: every write is fsynced before Redis answers), on a free loopback port, its files in a temp folder
// that is removed when it stops. The shared Redis on 6379 is never touched or reconfigured.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from './paths.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

const running = new Set();
process.on('exit', () => {
  for (const r of running) {
    r.proc.kill('SIGKILL');
    rmSync(r.dir, { recursive: true, force: true });
  }
});

/** Start it: { url, pid, port, dir, args, stop() }. */
export async function startPrivateRedis(bin = 'redis-server') {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'asyncgate-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, '--save', '', '--daemonize', 'no', '--logfile', ''];
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const r = { proc, dir, port, pid: proc.pid, args, url: `redis://127.0.0.1:${port}`, exited: false };
  running.add(r);
  const exited = new Promise((resolve) => proc.once('exit', resolve)).then(() => {
    r.exited = true;
  });
  proc.once('error', (e) => log(`redis-server: ${e.message}`));
  r.stop = async () => {
    if (!r.exited) {
      proc.kill('SIGTERM');
      if (!(await Promise.race([exited.then(() => true), sleep(5_000, false)]))) {
        proc.kill('SIGKILL');
        await exited;
      }
    }
    running.delete(r);
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (r.exited || Date.now() > until) {
      await r.stop();
      throw new Error(`private redis-server did not start on port ${port}`);
    }
    await sleep(50);
  }
  return r;
}
