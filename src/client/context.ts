/** What the monitor watchers (poll.ts, events.ts) share with fetchAsync: one run's settings and state. */
import type { Operation } from './discovery.js';
import type { AsyncProgress, StatusReading } from './status.js';
import { progressOf } from './status.js';

/** How a wait ended: a final response in hand, a terminal status document, or the result elsewhere. */
export type Outcome =
  | { type: 'response'; response: Response }
  | { type: 'status'; reading: StatusReading; representation: unknown; response: Response }
  | { type: 'redirect'; url: string };

export interface WatchContext {
  fetch: typeof globalThis.fetch;
  /** Aborts on the caller's signal or the overall timeout; its reason is what fetchAsync rejects with. */
  signal: AbortSignal;
  /** Headers for a request to `url`: Accept, plus the submitter's credentials when `url` is same-origin. */
  headersFor(url: string): Headers;
  /** Delay between polls when the server gives no `Retry-After`, ms. */
  pollInterval: number;
  /** `Prefer: wait=N` on each poll, seconds (0: no long poll). */
  longPollSeconds: number;
  /** Give up on a silent event stream after this long (no event, no `: keep-alive`), ms. */
  heartbeatTimeout: number;
  /** Consecutive network errors / 5xx from the monitor before giving up. */
  maxRetries: number;
  /** The deadline (epoch ms) of the overall timeout, Infinity without one. */
  deadline: number;
  /** Record a reading; calls onProgress when something changed. Returns whether it changed. */
  observe(reading: StatusReading, representation: unknown): boolean;
}

/** Build `observe`: remember the last reading, report changes through `onProgress`. */
export function progressReporter(op: () => Operation | undefined, onProgress: ((p: AsyncProgress) => void) | undefined) {
  let last = '';
  return (reading: StatusReading, representation: unknown): boolean => {
    const key = JSON.stringify([reading.status, reading.percent, reading.progress]);
    if (key === last) return false;
    last = key;
    onProgress?.(progressOf(reading, op()?.monitor ?? '', representation));
    return true;
  };
}

/** setTimeout as a promise that rejects with the signal's reason on abort. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      signal.removeEventListener('abort', aborted);
      resolve();
    };
    const aborted = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', aborted, { once: true });
  });
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** A Response with the status and headers of `res` and `body` (already read from it). */
export function responseWith(res: Response, body: string | Uint8Array): Response {
  const copy = new Response(NULL_BODY.has(res.status) ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
  // Keep the URL the answer came from, as fetch's own Response has it.
  Object.defineProperty(copy, 'url', { value: res.url });
  return copy;
}

/** Read at most `limit` bytes of a body as text, for error reports. */
export async function bodySnippet(res: Response, limit = 64 * 1024): Promise<string> {
  try {
    const text = await res.text();
    return text.length > limit ? text.slice(0, limit) : text;
  } catch {
    return '';
  }
}
