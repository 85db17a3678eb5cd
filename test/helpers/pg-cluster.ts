import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = process.env.ASYNCGATE_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** initdb and postgres refuse to run as root: as root, the cluster belongs to this user. */
const OS_USER = 'postgres';
const isRoot = process.getuid?.() === 0;

/** Clusters not destroyed yet: stopped when the test process ends (a timed-out test skips its `finally`). */
const live = new Set<PgCluster>();
process.once('exit', () => {
  for (const cluster of live) {
    try {
      cluster.execSync('pg_ctl', ['-D', cluster.data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
    rmSync(cluster.dir, { recursive: true, force: true });
  }
});

/**
 * A PostgreSQL cluster of a test's own (initdb + pg_ctl under a temp directory, on a free port), for faults
 * the shared server must not suffer: stopping it, filling its disk. Never the server on 5432.
 */
export class PgCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /**
   * A new cluster, started; undefined (after a warning nobody can miss) when this machine cannot make one.
   * With CI=true that is a failure instead: CI has the binaries and runs as root.
   */
  static async create(): Promise<PgCluster | undefined> {
    const why = !existsSync(join(BIN, 'initdb')) ? `no initdb in ${BIN}` : undefined;
    if (why) return unavailable(why);
    const dir = mkdtempSync(join(tmpdir(), 'asyncgate-pg-'));
    if (isRoot) chownSync(dir, ...(await userIds(OS_USER)));
    const cluster = new PgCluster(dir, await freePort());
    live.add(cluster);
    try {
      await cluster.exec('initdb', ['-D', cluster.data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
      await cluster.start();
      return cluster;
    } catch (error) {
      await cluster.destroy();
      return unavailable(`initdb/pg_ctl failed: ${(error as Error).message}`);
    }
  }

  get data(): string {
    return join(this.dir, 'data');
  }

  /** A connection URL to database `db` (default `postgres`). */
  url(db = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
    await this.exec('pg_ctl', ['-D', this.data, '-o', options, '-l', join(this.dir, 'log'), '-w', '-t', '30', 'start']);
  }

  /** `pg_ctl stop -m fast`: sessions are ended, the server is down when this resolves. */
  async stop(): Promise<void> {
    await this.exec('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', '-t', '30', 'stop']);
  }

  /** Stop it (if running) and remove everything. */
  async destroy(): Promise<void> {
    live.delete(this);
    await this.exec('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Run one of the cluster's binaries, as its OS user when we are root. */
  exec(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    const path = join(BIN, bin);
    return isRoot ? run('runuser', ['-u', OS_USER, '--', path, ...args], { cwd: this.dir }) : run(path, args, { cwd: this.dir });
  }

  /** The same, blocking (for the exit hook, where nothing asynchronous runs any more). */
  execSync(bin: string, args: string[]): void {
    const path = join(BIN, bin);
    if (isRoot) execFileSync('runuser', ['-u', OS_USER, '--', path, ...args], { cwd: this.dir, stdio: 'ignore' });
    else execFileSync(path, args, { cwd: this.dir, stdio: 'ignore' });
  }
}

/** The uid and gid of an OS user (`id -u`, `id -g`). */
export async function userIds(user: string): Promise<[number, number]> {
  const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return [Number(uid.stdout.trim()), Number(gid.stdout.trim())];
}

function unavailable(why: string): undefined {
  const message = `cannot run a PostgreSQL cluster of the test's own: ${why}`;
  if (process.env.CI === 'true') throw new Error(`${message} — CI requires it`);
  process.stderr.write(`\n${'!'.repeat(100)}\n!!! SKIPPING: ${message}\n${'!'.repeat(100)}\n\n`);
  console.warn(`SKIPPING: ${message}`);
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
