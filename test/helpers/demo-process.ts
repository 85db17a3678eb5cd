import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CLI, killOnExit, signalAndWait, tempDir } from './gateway-process.js';

/** `asyncgate demo` from dist/ as a child process, on free ports and a fresh SQLite file. */
export class DemoProcess {
  /** What it printed up to "Press Ctrl-C". */
  banner = '';
  gateway = '';
  upstream = '';
  readonly db = `sqlite:${join(tempDir('asyncgate-demo-'), 'demo.db')}`;
  private child: ChildProcess | undefined;
  private stderr = '';

  async start(timeoutMs = 30_000): Promise<this> {
    const child = spawn(process.execPath, [CLI, 'demo', '--port', '0', '--upstream-port', '0', '--db', this.db], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ASYNCGATE_LOG_LEVEL: 'warn' },
    });
    this.child = child;
    killOnExit(child);
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start: ${this.banner}${this.stderr}`)), timeoutMs);
      child.stdout!.on('data', (d: Buffer) => {
        this.banner += d.toString();
        if (this.banner.includes('Press Ctrl-C')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`demo exited ${code}: ${this.stderr}`));
      });
    });
    this.gateway = /^\s*gateway\s+(http:\S+)/m.exec(this.banner)![1]!;
    this.upstream = /^\s*upstream\s+(http:\S+)/m.exec(this.banner)![1]!;
    return this;
  }

  /** A line written for the default ports (gateway :8080, demo API :3001), pointed at this demo's. */
  rewrite(text: string): string {
    const host = (url: string) => new URL(url).host;
    return text
      .replace(/\b(127\.0\.0\.1|localhost):8080\b/g, host(this.gateway))
      .replace(/\b(127\.0\.0\.1|localhost):3001\b/g, host(this.upstream));
  }

  stop(): Promise<number | null> {
    return signalAndWait(this.child, 'SIGTERM');
  }
}
