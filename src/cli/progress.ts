/**
 * How `asyncgate fetch` shows a job's progress on stderr: a bar redrawn in place on a terminal, plain lines
 * otherwise (logs, pipes, CI), so stdout keeps only the response.
 */
import type { AsyncProgress } from '../client/status.js';

export interface ProgressView {
  accepted(monitor: string): void;
  update(progress: AsyncProgress): void;
  /** Remove the bar (terminal) before the response or an error is printed. */
  done(): void;
}

const WIDTH = 24;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function detail(p: AsyncProgress): string {
  const parts: string[] = [];
  if (p.progress?.current !== undefined) parts.push(p.progress.total !== undefined ? `${p.progress.current}/${p.progress.total}` : String(p.progress.current));
  if (p.progress?.message) parts.push(p.progress.message);
  return parts.join(' ');
}

/** The bar line for a state: `⠋ Running   [█████████░░░░░░░░░░░░░░░]  40%  2/5 step  00:12`. */
export function barLine(p: AsyncProgress | undefined, elapsedMs: number, frame: number): string {
  const status = (p?.status ?? 'Submitting').padEnd(10);
  const spin = SPINNER[frame % SPINNER.length];
  let bar: string;
  if (p?.percent !== undefined) {
    const filled = Math.round((p.percent / 100) * WIDTH);
    bar = `[${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}] ${String(Math.round(p.percent)).padStart(3)}%`;
  } else {
    // Unknown percentage: a block that sweeps back and forth, so the bar still shows life.
    const pos = Math.abs(((frame + WIDTH - 3) % (2 * (WIDTH - 3))) - (WIDTH - 3));
    bar = `[${'░'.repeat(pos)}███${'░'.repeat(WIDTH - 3 - pos)}]     `;
  }
  const text = p ? detail(p) : '';
  return `${spin} ${status} ${bar}  ${text ? `${text}  ` : ''}${clock(elapsedMs)}`;
}

/** A bar redrawn every 100 ms on a terminal stream. */
export function terminalProgress(stream: NodeJS.WriteStream): ProgressView {
  const started = Date.now();
  let frame = 0;
  let last: AsyncProgress | undefined;
  const columns = () => Math.max(20, (stream.columns || 80) - 1);
  const draw = () => stream.write(`\r\x1b[2K${barLine(last, Date.now() - started, frame++).slice(0, columns())}`);
  const timer = setInterval(draw, 100);
  timer.unref();
  draw();
  return {
    accepted: (monitor) => stream.write(`\r\x1b[2K202 Accepted, monitor ${monitor}\n`),
    update: (p) => {
      last = p;
      draw();
    },
    done: () => {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}

/** One line per change, for streams that are not terminals. */
export function lineProgress(stream: NodeJS.WritableStream): ProgressView {
  return {
    accepted: (monitor) => stream.write(`asyncgate: 202 Accepted, monitor ${monitor}\n`),
    update: (p) => {
      const percent = p.percent !== undefined ? ` ${Math.round(p.percent)}%` : '';
      const text = detail(p);
      stream.write(`asyncgate: ${p.status}${percent}${text ? ` ${text}` : ''}\n`);
    },
    done: () => undefined,
  };
}

/** No output at all (--silent). */
export const silentProgress: ProgressView = { accepted: () => undefined, update: () => undefined, done: () => undefined };
