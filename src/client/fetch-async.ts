/**
 * `fetchAsync`: a `fetch` that asks for an asynchronous answer and waits through it, so the caller gets the
 * final `Response` whether the server answered at once or with `202 Accepted` (docs/client.md).
 */
import { progressReporter, responseWith, type Outcome, type WatchContext } from './context.js';
import { discoverOperation, type Operation } from './discovery.js';
import { AsyncJobCanceledError, AsyncJobFailedError, AsyncMonitorError, AsyncTimeoutError } from './errors.js';
import { watchEvents } from './events.js';
import { pollMonitor } from './poll.js';
import { askForAsync, credentialsFor, type CallbackOption } from './request-headers.js';
import type { AsyncProgress } from './status.js';

export interface FetchAsyncOptions {
  /** Called on every change of the job the client sees (status, percent, progress message). */
  onProgress?: (progress: AsyncProgress) => void;
  /** Called once with the monitor URL when the server answers `202 Accepted` (e.g. to log or store it). */
  onAccepted?: (info: { monitor: string; response: Response }) => void;
  /** Overall limit, ms, from the call to the final response. Rejects with AsyncTimeoutError. */
  timeout?: number;
  /** Cancel the job (POST its cancel link) when the timeout passes. Default false: the job runs on. */
  cancelOnTimeout?: boolean;
  /** Cancel the job when `init.signal` aborts. Default true. */
  cancelOnAbort?: boolean;
  /** `false`: return the `202 Accepted` acknowledgement instead of waiting (e.g. when a callback will deliver). */
  wait?: boolean;
  /** Ask the server to race the work for N seconds before answering 202 (`Prefer: respond-async, wait=N`). */
  preferWait?: number;
  /** Where to deliver the result too (the callback dialects of docs/dialects.md); one or several. */
  callback?: CallbackOption | readonly CallbackOption[];
  /** Listen to the job's event stream when the server offers one. Default true. */
  events?: boolean;
  /** `Prefer: wait=N` on monitor polls, seconds. Default 30; 0 turns long polling off. */
  longPollSeconds?: number;
  /** Poll spacing when the server sends no `Retry-After`, ms. Default 1000. */
  pollInterval?: number;
  /** Consecutive network errors / 502–504 from the monitor before giving up. Default 5. */
  maxRetries?: number;
  /** A silent event stream is reconnected after this long, ms. Default 45000 (3 missed 15 s heartbeats). */
  heartbeatTimeout?: number;
  /** More request headers that bind a job to its submitter (asyncgate's `--owner-header`); sent to the monitor. */
  credentialHeaders?: readonly string[];
  /** The fetch to use. Default: the global one. */
  fetch?: typeof globalThis.fetch;
}

const CANCEL_TIMEOUT_MS = 5_000;

/**
 * Send a request asking for an asynchronous answer and resolve with the final response: the server's
 * immediate answer if it gave one, else the job's result once done. See the README for the failure rules.
 */
export async function fetchAsync(input: string | URL | Request, init: RequestInit = {}, options: FetchAsyncOptions = {}): Promise<Response> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const request = new Request(input, init);
  const headers = new Headers(request.headers);
  const callbacks = options.callback === undefined ? [] : Array.isArray(options.callback) ? options.callback : [options.callback as CallbackOption];
  askForAsync(headers, options.preferWait, callbacks);

  const controller = new AbortController();
  const userSignal = request.signal;
  if (userSignal.aborted) throw userSignal.reason;
  const onAbort = () => controller.abort(userSignal.reason);
  userSignal.addEventListener('abort', onAbort, { once: true });
  let op: Operation | undefined;
  let finished = false;
  const timeout = options.timeout;
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(() => controller.abort(new AsyncTimeoutError(timeout, op && { monitor: op.monitor, representation: op.representation })), timeout);
  const headersFor = credentialsFor(request, options.credentialHeaders ?? []);
  try {
    const res = await doFetch(new Request(request, { headers, signal: controller.signal }));
    if (res.status !== 202 || options.wait === false) return res;
    const text = await res.text();
    op = discoverOperation(res, text, request.url);
    // A 202 without a monitor: there is nothing to wait on, the acknowledgement is the answer.
    if (!op) return responseWith(res, text);
    options.onAccepted?.({ monitor: op.monitor, response: res });
    const ctx: WatchContext = {
      fetch: doFetch,
      signal: controller.signal,
      headersFor,
      pollInterval: options.pollInterval ?? 1000,
      longPollSeconds: options.longPollSeconds ?? 30,
      heartbeatTimeout: options.heartbeatTimeout ?? 45_000,
      maxRetries: options.maxRetries ?? 5,
      deadline: timeout === undefined ? Infinity : Date.now() + timeout,
      observe: progressReporter(() => op, options.onProgress),
    };
    if (op.initial) ctx.observe(op.initial, op.representation);
    const outcome = await waitFor(op, ctx, options.events !== false);
    finished = true;
    return await settle(outcome, op, ctx, request);
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    const reason: unknown = controller.signal.reason;
    const timedOut = reason instanceof AsyncTimeoutError;
    if (op?.cancel && !finished && (timedOut ? options.cancelOnTimeout === true : options.cancelOnAbort !== false)) {
      await cancelJob(doFetch, op.cancel, headersFor(op.cancel));
    }
    throw reason;
  } finally {
    clearTimeout(timer);
    userSignal.removeEventListener('abort', onAbort);
  }
}

/** Events while the server offers a usable stream, polling otherwise (or after the stream gave out). */
async function waitFor(op: Operation, ctx: WatchContext, useEvents: boolean): Promise<Outcome> {
  let eventsFailed = !useEvents;
  for (;;) {
    if (!eventsFailed && op.events) {
      const outcome = await watchEvents(op, ctx);
      if (outcome) return outcome;
      eventsFailed = true;
    }
    const outcome = await pollMonitor(op, ctx, !eventsFailed);
    if (outcome) return outcome;
  }
}

/** Turn how the wait ended into the final response, or the typed error when there is none. */
async function settle(outcome: Outcome, op: Operation, ctx: WatchContext, request: Request): Promise<Response> {
  if (outcome.type === 'response') return outcome.response;
  if (outcome.type === 'redirect') return getResult(outcome.url, ctx, request, op);
  const { reading, representation } = outcome;
  const job = { monitor: op.monitor, representation };
  switch (reading.status) {
    case 'Succeeded': {
      // Azure's rules for the final GET: resourceLocation, else the 202's Location, else (PUT/PATCH) the resource itself.
      const url =
        reading.resultUrl ?? op.location ?? (request.method === 'PUT' || request.method === 'PATCH' ? request.url : undefined);
      return url ? getResult(url, ctx, request, op) : outcome.response;
    }
    case 'Failed':
      // The upstream answered (asyncgate keeps a 4xx/5xx at the result link): that answer is the final response.
      if (reading.hasResponse && reading.resultUrl) return getResult(reading.resultUrl, ctx, request, op);
      throw new AsyncJobFailedError(reading.error ?? { code: 'Failed', message: '' }, job);
    default:
      throw new AsyncJobCanceledError(job);
  }
}

async function getResult(href: string, ctx: WatchContext, request: Request, op: Operation): Promise<Response> {
  // Links in a status document are relative to the monitor that served it.
  const url = new URL(href, op.monitor).href;
  const headers = ctx.headersFor(url);
  headers.set('accept', request.headers.get('accept') ?? '*/*');
  try {
    return await ctx.fetch(url, { headers, signal: ctx.signal });
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw new AsyncMonitorError(`the result could not be fetched from ${url}: ${(error as Error).message}`, { monitor: op.monitor, representation: op.representation }, undefined, undefined, { cause: error });
  }
}

/** Best effort: the caller is leaving anyway, so a failed cancel is not worth a second error. */
async function cancelJob(doFetch: typeof globalThis.fetch, url: string, headers: Headers): Promise<void> {
  try {
    const res = await doFetch(url, { method: 'POST', headers, signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS) });
    await res.body?.cancel();
  } catch {
    // unreachable monitor: nothing more to do
  }
}
