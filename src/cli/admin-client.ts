/**
 * The admin CLI's side of the admin API: where the server is and how to authenticate (flags, else environment),
 * one request at a time, and what a failure means for the exit code: the server refused (1), the command line
 * is wrong (2), the server could not be reached or answered something that is not the admin API (5).
 */
import { createInterface } from 'node:readline/promises';
import { parseDuration } from '../shared/units.js';
import { describeError } from './fetch.js';
import { UsageError } from './flags.js';

export const ADMIN_EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 5 } as const;

/** Where `serve` listens unless told otherwise (its --host and --port defaults). */
export const DEFAULT_URL = 'http://127.0.0.1:8080';
const DEFAULT_TIMEOUT_MS = 30_000;

/** The flags every admin command takes. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  'admin-token': { type: 'string' },
  prefix: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The same flags, in help texts. */
export const CONNECTION_HELP = `Connection and output:
  --url URL             the gateway (default ${DEFAULT_URL}, else $ASYNCGATE_URL)
  --admin-token TOKEN   the server's admin token (else $ASYNCGATE_ADMIN_TOKEN)
  --prefix PATH         where the server's own endpoints live, as serve --prefix (default /_async)
  --timeout DURATION    give up on an answer after this long (default 30s)
  --json                print the API's JSON answer instead of a table (for scripts)
  -h, --help            show this help

Exit codes:
  0  done
  1  the server refused (wrong token, no such job, not retryable…): its problem is printed
  2  usage error (also: a bulk action without --yes when stdin is not a terminal)
  5  the server could not be reached (refused, DNS, timeout) or is not an asyncgate admin API
`;

export interface AdminConnection {
  /** The gateway's base URL with the prefix, no trailing slash: `http://127.0.0.1:8080/_async`. */
  base: string;
  token: string | undefined;
  timeoutMs: number;
}

/** The server refused: an HTTP error answer, with its problem document when it sent one. */
export class AdminRefused extends Error {
  override readonly name = 'AdminRefused';
  readonly code = 'admin-refused';
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string; type?: string } | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Nothing usable came back: no connection, no answer in time, or not the admin API. */
export class AdminUnreachable extends Error {
  override readonly name = 'AdminUnreachable';
  readonly code = 'admin-unreachable';
}

type ConnectionValues = { url?: string; 'admin-token'?: string; prefix?: string; timeout?: string };

/** The connection from flags, else ASYNCGATE_URL / ASYNCGATE_ADMIN_TOKEN, else the defaults. */
export function connectionFrom(values: ConnectionValues, env: NodeJS.ProcessEnv = process.env): AdminConnection {
  const url = values.url ?? (env.ASYNCGATE_URL || DEFAULT_URL);
  const source = values.url !== undefined ? '--url' : env.ASYNCGATE_URL ? 'ASYNCGATE_URL' : 'the default URL';
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) throw new UsageError(`${source} "${url}" is not an http(s) URL`);
  const prefix = values.prefix ?? '/_async';
  if (!/^\/[^?#\s]*$/.test(prefix)) throw new UsageError(`--prefix "${prefix}" must be a path starting with /`);
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    const ms = parseDuration(values.timeout);
    if (ms === undefined || ms < 100) throw new UsageError(`--timeout "${values.timeout}" is not a duration of at least 100ms (try 10s)`);
    timeoutMs = ms;
  }
  const token = values['admin-token'] ?? (env.ASYNCGATE_ADMIN_TOKEN || undefined);
  return { base: url.replace(/\/+$/, '') + prefix.replace(/\/+$/, ''), token, timeoutMs };
}

/** Query parameters from flag values, skipping the ones not given. */
export function query(params: Record<string, string | number | undefined>): URLSearchParams {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) q.set(name, String(value));
  return q;
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: is asyncgate running there?',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'DNS lookup failed: no such host',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

function systemCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && REASONS[code]) return code;
    if (e instanceof AggregateError) return e.errors.map(systemCode).find(Boolean);
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * One request to the admin API; resolves with the parsed JSON answer (undefined for 204). Rejects with
 * AdminRefused for an HTTP error, AdminUnreachable when nothing usable came back.
 */
export async function adminCall(conn: AdminConnection, method: string, path: string, params?: URLSearchParams): Promise<unknown> {
  const search = params && [...params.keys()].length ? `?${params}` : '';
  const url = `${conn.base}${path}${search}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { accept: 'application/json', ...(conn.token ? { authorization: `Bearer ${conn.token}` } : {}) },
      signal: AbortSignal.timeout(conn.timeoutMs),
    });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw new AdminUnreachable(`${url}: no answer within ${conn.timeoutMs / 1000} s (timeout; --timeout waits longer)`);
    const code = systemCode(error);
    throw new AdminUnreachable(`cannot reach ${url}: ${code ? `${REASONS[code]} (${describeError(error)})` : describeError(error)}`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (error) {
    throw new AdminUnreachable(`${url}: the answer broke off: ${describeError(error)}`);
  }
  const type = res.headers.get('content-type') ?? '';
  const json = /json/i.test(type) ? safeParse(text) : undefined;
  if (!res.ok) {
    const problem = json && typeof json === 'object' ? (json as { title?: string; detail?: string; type?: string }) : undefined;
    const what = problem?.title ? `${problem.title}${problem.detail ? `: ${problem.detail}` : ''}` : `${res.statusText || 'error'}${text ? `: ${text.slice(0, 200).trim()}` : ''}`;
    const hint = res.status === 401 && !conn.token ? ' (pass --admin-token or set ASYNCGATE_ADMIN_TOKEN)' : '';
    throw new AdminRefused(res.status, problem, `${method} ${url}: ${res.status} ${what}${hint}`);
  }
  if (res.status === 204) return undefined;
  if (json === undefined) throw new AdminUnreachable(`${url} answered ${res.status} with ${type || 'no content type'}, not JSON: is --url an asyncgate gateway and --prefix its prefix?`);
  return json;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Run an admin command, turning its failures into messages on stderr and exit codes. */
export async function runAdmin(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AdminRefused) {
      process.stderr.write(`asyncgate: the server refused: ${error.message}\n`);
      return ADMIN_EXIT.refused;
    }
    if (error instanceof AdminUnreachable) {
      process.stderr.write(`asyncgate: ${error.message}\n`);
      return ADMIN_EXIT.unreachable;
    }
    throw error; // UsageError and the unexpected: main prints them
  }
}

/**
 * A time flag as the API takes it (ISO): an ISO date, epoch milliseconds (a bare number), or a duration
 * meaning that long ago (`2h`, `30m`, `7d`).
 */
export function timeFlag(name: string, value: string | undefined, now = Date.now()): string | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return new Date(Number(value)).toISOString();
  if (/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/i.test(value)) return new Date(now - parseDuration(value)!).toISOString();
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new UsageError(`--${name} "${value}" is not a time: an ISO date (2026-11-24T12:00:00Z), epoch ms, or how long ago (2h, 7d)`);
  return new Date(ms).toISOString();
}

/** A value from a fixed list (any case), else a usage error naming the list. */
export function choiceFlag(name: string, value: string | undefined, choices: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  const found = choices.find((c) => c.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw new UsageError(`--${name} "${value}" is not one of ${choices.join(', ')}`);
  return found;
}

/**
 * Before a bulk action: true to go ahead. With --yes, at once; on a terminal, asks (stderr, answer on stdin);
 * otherwise a usage error: a script must say --yes, so nothing is changed by accident.
 */
export async function confirmBulk(question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) throw new UsageError(`${question.replace(/\?$/, '')}: not without --yes (stdin is not a terminal to ask on)`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
