import { spawn } from 'node:child_process';
import { CLI, killOnExit } from './gateway-process.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The `asyncgate` CLI as a child process, without blocking this process's event loop (the tests' upstream and
 * callback receiver live in it). `env` replaces the ASYNCGATE_* variables of this process.
 */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<CliResult> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ASYNCGATE_') || k === 'ASYNCGATE_TEST_CLI'));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** `runCli` that expects exit 0 and parses stdout as JSON. */
export async function cliJson<T = Record<string, unknown>>(args: string[], env: Record<string, string>): Promise<T> {
  const r = await runCli([...args, '--json'], env);
  if (r.status !== 0) throw new Error(`asyncgate ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The CLI on a pseudo-terminal (util-linux `script`), so its stdin and stdout are TTYs: `answer` is typed once
 * the output shows `prompt`. stdout and stderr arrive mixed, as on a terminal, in `stdout`.
 */
export function runCliOnTty(args: string[], env: Record<string, string>, prompt: RegExp, answer: string, timeoutMs = 20_000): Promise<CliResult> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ASYNCGATE_') || k === 'ASYNCGATE_TEST_CLI'));
  const command = [process.execPath, CLI, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...clean, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  let answered = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!answered && prompt.test(stdout)) {
      answered = true;
      child.stdin.write(`${answer}\n`);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
