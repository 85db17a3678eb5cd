import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The built CLI; `ASYNCGATE_TEST_CLI` points the tests at another build (a private one, while another is rebuilt). */
export const CLI = process.env.ASYNCGATE_TEST_CLI ?? join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** Children still running when the test process ends (a timed-out test skips its `after`) are killed. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function tempDir(prefix = 'asyncgate-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The real `asyncgate serve` as a child process, on a port it picks, with JSON logs collected. */
export class GatewayProcess {
  url = '';
  readonly logs: Array<Record<string, unknown>> = [];
  private child: ChildProcess | undefined;
  stderr = '';

  constructor(readonly args: string[]) {}

  async start(timeoutMs = 15_000): Promise<this> {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...this.args], {
      env: { ...process.env, ASYNCGATE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    killOnExit(child);
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway did not start: ${this.stderr}`)), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`gateway exited with ${code}: ${this.stderr}`));
      });
      lines.on('line', (line) => {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          this.logs.push(entry);
          if (entry.msg === 'asyncgate listening') {
            this.url = String(entry.url);
            clearTimeout(timer);
            resolve();
          }
        } catch {
          // not a log line
        }
      });
    });
    return this;
  }

  get pid(): number {
    return this.child!.pid!;
  }

  /** kill -9: no chance to clean up. */
  async crash(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<number | null> {
    return this.signal('SIGTERM');
  }

  private signal(sig: NodeJS.Signals): Promise<number | null> {
    return signalAndWait(this.child, sig);
  }
}

/** Send `sig` to a child (if still running) and resolve with its exit code once it is gone. */
export function signalAndWait(child: ChildProcess | undefined, sig: NodeJS.Signals): Promise<number | null> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child?.exitCode ?? null);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill(sig);
  });
}

/** Kill `child` if it is still running when the test process ends. */
export function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(everyMs);
  }
}
