import { readFileSync } from 'node:fs';
import { fetchAsync, type FetchAsyncOptions } from '../client/fetch-async.js';
import { AsyncClientError, AsyncTimeoutError } from '../client/errors.js';
import { CALLBACK_MODES, type CallbackMode, type CallbackOption } from '../client/request-headers.js';
import { durationFlag, intFlag, parseFlagsAndArgs, UsageError } from './flags.js';
import { lineProgress, silentProgress, terminalProgress, type ProgressView } from './progress.js';

export const FETCH_HELP = `Usage: asyncgate fetch URL [options]

Send a request asking for an asynchronous answer (Prefer: respond-async), wait through the
202 Accepted (event stream, long poll or Retry-After polling), and print the final response
like curl -i. Progress goes to stderr: a bar on a terminal, plain lines otherwise.

Options:
  -X, --request METHOD     request method (default GET, or POST with --data)
  -H, --header "N: V"      add a request header (repeatable)
  -d, --data DATA          request body; @FILE reads a file, @- reads stdin (repeatable, joined
                           with &); sets Content-Type: application/x-www-form-urlencoded unless -H
                           gives one, as curl does
  --callback URL           also deliver the result to URL
  --callback-secret S      HMAC key for the callback's extra signature (mode response)
  --callback-mode MODE     response (default), notify or ping
  --no-wait                print the 202 Accepted and exit (e.g. when a callback will deliver)
  --prefer-wait N          let the server race the work for N seconds before answering 202
  --timeout DURATION       give up after this long (e.g. 90s, 10m); the job keeps running
  -s, --silent             no progress output
  -h, --help               show this help

Exit codes:
  0  the final response is 2xx (with --no-wait: the server accepted the request)
  1  the final response is not 2xx (it is still printed)
  2  usage error
  3  the job failed without a response, was canceled by someone else, or is gone
  4  --timeout passed (the monitor URL is printed on stderr)
  5  the server or the monitor could not be reached, or answered something unusable
  130  interrupted (Ctrl-C): the job was canceled

Example:
  asyncgate fetch http://127.0.0.1:8080/reports/2026?seconds=5
  asyncgate fetch -X POST -H 'Content-Type: application/json' -d '{"cart_id":1}' http://127.0.0.1:8080/cart/checkout
`;

const OPTIONS = {
  request: { type: 'string', short: 'X' },
  header: { type: 'string', short: 'H', multiple: true },
  data: { type: 'string', short: 'd', multiple: true },
  callback: { type: 'string' },
  'callback-secret': { type: 'string' },
  'callback-mode': { type: 'string' },
  'no-wait': { type: 'boolean' },
  'prefer-wait': { type: 'string' },
  timeout: { type: 'string' },
  silent: { type: 'boolean', short: 's' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const EXIT = { ok: 0, notOk: 1, usage: 2, jobFailed: 3, timeout: 4, unreachable: 5, interrupted: 130 } as const;

interface FetchCommand {
  url: string;
  init: RequestInit;
  options: FetchAsyncOptions;
  silent: boolean;
}

function parseHeader(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new UsageError(`-H "${line}" is not "Name: value"`);
  return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
}

function readData(value: string): string {
  if (!value.startsWith('@')) return value;
  const path = value.slice(1);
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw new UsageError(`--data ${value}: ${(error as Error).message}`);
  }
}

/** The command line, understood; undefined for --help. */
export function fetchCommand(argv: string[]): FetchCommand | undefined {
  const { values, positionals } = parseFlagsAndArgs(argv, OPTIONS);
  if (values.help) return undefined;
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `one URL expected, got ${positionals.length}` : 'a URL is required');
  const url = positionals[0]!;
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) throw new UsageError(`"${url}" is not an http(s) URL`);
  const headers = new Headers();
  for (const line of values.header ?? []) {
    try {
      headers.append(...parseHeader(line));
    } catch (error) {
      throw error instanceof UsageError ? error : new UsageError(`-H "${line}": ${(error as Error).message}`);
    }
  }
  const init: RequestInit = { headers };
  if (values.data?.length) {
    init.body = values.data.map(readData).join('&');
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
  }
  init.method = values.request?.toUpperCase() ?? (init.body !== undefined ? 'POST' : 'GET');
  if ((init.method === 'GET' || init.method === 'HEAD') && init.body !== undefined) throw new UsageError(`a ${init.method} request cannot have --data`);

  const options: FetchAsyncOptions = {};
  if (values['no-wait']) options.wait = false;
  const timeout = durationFlag('timeout', values.timeout);
  if (timeout !== undefined) options.timeout = timeout;
  const preferWait = intFlag('prefer-wait', values['prefer-wait'], 0, 86_400);
  if (preferWait !== undefined) options.preferWait = preferWait;
  if (values['callback-secret'] !== undefined || values['callback-mode'] !== undefined) {
    if (values.callback === undefined) throw new UsageError('--callback-secret and --callback-mode need --callback URL');
  }
  if (values.callback !== undefined) {
    const mode = values['callback-mode'] ?? 'response';
    if (!CALLBACK_MODES.includes(mode as CallbackMode)) throw new UsageError(`--callback-mode must be ${CALLBACK_MODES.join(', ')}, got "${mode}"`);
    const callback: CallbackOption = { url: values.callback, mode: mode as CallbackMode };
    if (values['callback-secret'] !== undefined) callback.secret = values['callback-secret'];
    options.callback = callback;
  }
  return { url, init, options, silent: values.silent ?? false };
}

/**
 * Print a response like `curl -i`: status line, headers, blank line, body. The upstream's body is printed
 * byte for byte; `endLine` adds a final newline when it lacks one (for asyncgate's own 202 document).
 */
async function printResponse(res: Response, out: NodeJS.WritableStream, endLine = false): Promise<void> {
  let head = `HTTP/1.1 ${res.status}${res.statusText ? ` ${res.statusText}` : ''}\r\n`;
  for (const [name, value] of res.headers) head += `${name}: ${value}\r\n`;
  out.write(`${head}\r\n`);
  let body = Buffer.from(await res.arrayBuffer());
  if (endLine && body.length && body[body.length - 1] !== 0x0a) body = Buffer.concat([body, Buffer.from('\n')]);
  if (body.length) await new Promise<void>((resolve, reject) => out.write(body, (error) => (error ? reject(error) : resolve())));
}

/**
 * An error's message followed by its causes: fetch's own message is only "fetch failed", the reason
 * (ECONNREFUSED, a DNS or TLS failure) is in `cause`, or in each error of an AggregateError (one per address).
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  const add = (text: string) => {
    if (text && !parts.some((p) => p.includes(text))) parts.push(text);
  };
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof AggregateError && current.errors.length) {
      add(current.message);
      add([...new Set(current.errors.map((e: unknown) => describeError(e)))].join('; '));
      break;
    }
    const message = current instanceof Error ? current.message : String(current);
    const code = (current as { code?: unknown }).code;
    // System and undici codes (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT…), not asyncgate's kebab-case ones.
    const systemCode = typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) && !message.includes(code) ? code : undefined;
    add(systemCode ? `${message}${message ? ' ' : ''}(${systemCode})` : message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}

function exitCodeFor(error: unknown): number {
  if (error instanceof AsyncTimeoutError) return EXIT.timeout;
  if (error instanceof AsyncClientError) return error.code === 'monitor-error' ? EXIT.unreachable : EXIT.jobFailed;
  return EXIT.unreachable;
}

/** `asyncgate fetch`: returns the exit code. */
export async function runFetch(argv: string[]): Promise<number> {
  const command = fetchCommand(argv);
  if (!command) {
    process.stdout.write(FETCH_HELP);
    return EXIT.ok;
  }
  const view: ProgressView = command.silent ? silentProgress : process.stderr.isTTY ? terminalProgress(process.stderr) : lineProgress(process.stderr);
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let monitor: string | undefined;
  try {
    const res = await fetchAsync(command.url, { ...command.init, signal: controller.signal }, {
      ...command.options,
      onAccepted: (a) => {
        monitor = a.monitor;
        view.accepted(a.monitor);
      },
      onProgress: (p) => view.update(p),
    });
    view.done();
    await printResponse(res, process.stdout, command.options.wait === false);
    return res.ok ? EXIT.ok : EXIT.notOk;
  } catch (error) {
    view.done();
    if (controller.signal.aborted) {
      process.stderr.write(`asyncgate: interrupted${monitor ? `; canceled the job at ${monitor}` : ''}\n`);
      return EXIT.interrupted;
    }
    process.stderr.write(`asyncgate: ${describeError(error)}${monitor && !(error instanceof AsyncTimeoutError) ? ` (monitor ${monitor})` : ''}\n`);
    if (error instanceof TypeError && (error as { cause?: unknown }).cause === undefined) return EXIT.usage;
    return exitCodeFor(error);
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
  }
}
