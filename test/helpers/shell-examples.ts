import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** One command of a markdown file's ```sh block. */
export interface ShellExample {
  /** "README.md:71", for messages. */
  where: string;
  /** The command, continuation lines joined, without its trailing comment. */
  command: string;
  /** The trailing `# comment`, without the `#`; '' when there is none. */
  comment: string;
}

/** Split a shell line at its trailing comment: a `#` outside quotes, at the start or after whitespace. */
export function splitComment(line: string): { command: string; comment: string } {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) {
      return { command: line.slice(0, i).trim(), comment: line.slice(i + 1).trim() };
    }
  }
  return { command: line.trim(), comment: '' };
}

/** Every command in the ```sh blocks of a markdown file, in order (lines ending in `\` joined to the next). */
export function shellExamples(path: string): ShellExample[] {
  const out: ShellExample[] = [];
  let inSh = false;
  let pending: { start: number; text: string } | undefined;
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.startsWith('```')) {
        inSh = !inSh && line.trim() === '```sh';
        return;
      }
      if (!inSh) return;
      const joined = pending ? `${pending.text} ${line.trim()}` : line.trim();
      const start = pending?.start ?? i + 1;
      if (joined.endsWith('\\')) {
        pending = { start, text: joined.slice(0, -1).trim() };
        return;
      }
      pending = undefined;
      const { command, comment } = splitComment(joined);
      if (command) out.push({ where: `${basename(path)}:${start}`, command, comment });
    });
  return out;
}

/** The HTTP status codes a comment names ("# 204; later GETs answer 410 Gone" → [204, 410]). */
export function statusesNamed(comment: string): number[] {
  return [...comment.matchAll(/\b([1-5]\d\d)\b/g)].map((m) => Number(m[1]));
}

/** Run a curl command line through sh, as a reader pasting it would; returns every status it saw, and the output. */
export async function runCurl(command: string, maxTimeSeconds = 40): Promise<{ statuses: number[]; output: string }> {
  if (!command.startsWith('curl ')) throw new Error(`not a curl command: ${command}`);
  // Options go right after `curl`, so that they never end up after a trailing comment or a `|`.
  const line = `curl --silent --show-error --max-time ${maxTimeSeconds} --write-out '\\n@@status %{http_code}\\n' ${command.slice('curl '.length)}`;
  const child = spawn('sh', ['-c', line], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`curl exited ${code}: ${stderr}\n${line}`);
  const last = Number(/@@status (\d{3})\n$/.exec(output)?.[1]);
  // With -i, every response's status line (with -L, the redirect's too); else the last status only.
  const seen = [...output.matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)].map((m) => Number(m[1])).filter((s) => s >= 200);
  return { statuses: seen.length ? seen : [last], output };
}
