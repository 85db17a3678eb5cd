import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { killOnExit, signalAndWait } from './gateway-process.js';

/**
 * A TypeScript app (an example, a fixture) run as a real child process through tsx. It must print
 * `listening on <url>` once it serves; every stdout line is kept, so tests can wait for what the app logs.
 */
export class AppProcess {
  url = '';
  readonly lines: string[] = [];
  stderr = '';
  private child: ChildProcess | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    readonly file: string,
    readonly env: Record<string, string> = {},
  ) {}

  async start(timeoutMs = 30_000): Promise<this> {
    const child = spawn(process.execPath, ['--import', 'tsx', this.file], {
      env: { ...process.env, PORT: '0', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    killOnExit(child);
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const wake of this.waiters.splice(0)) wake();
    });
    const line = await Promise.race([
      this.waitForLine(/^listening on (http:\S+)/, timeoutMs),
      new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${this.file} exited with ${code}: ${this.stderr}`)))),
    ]);
    this.url = /^listening on (http:\S+)/.exec(line)![1]!.replace(/\/$/, '');
    return this;
  }

  /** The first stdout line (already printed or still to come) matching `pattern`. */
  async waitForLine(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((l) => pattern.test(l));
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line matching ${pattern} from ${this.file}; stdout: ${this.lines.join('\n')}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  get pid(): number {
    return this.child!.pid!;
  }

  /** kill -9: no chance to clean up. */
  crash(): Promise<number | null> {
    return this.signal('SIGKILL');
  }

  stop(): Promise<number | null> {
    return this.signal('SIGTERM');
  }

  private signal(sig: NodeJS.Signals): Promise<number | null> {
    return signalAndWait(this.child, sig);
  }
}
