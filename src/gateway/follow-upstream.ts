import type { Dispatcher } from 'undici';
import { AbortReason, type ExecutionContext, type Outcome } from '../engine/executor.js';
import { responseHeaderPairs } from '../intake/forward-headers.js';
import { JOB_ERROR_CODES, type Job, type JobError, type JobProgress, type UpstreamMonitor } from '../model.js';
import { discoverOperation, parseJson } from '../protocol/operation-discovery.js';
import { readStatus, type StatusReading } from '../protocol/operation-status.js';
import { parseRetryAfter } from '../protocol/retry-after.js';
import { callUpstream, type UpstreamResponse } from './upstream-call.js';

/**
 * Following an upstream's own asynchronous operation (route rule `upstreamAsync: follow`, docs/async-upstreams.md):
 * its `202 Accepted` names a monitor (`Operation-Location`, `Azure-AsyncOperation` or `Location`), which is polled,
 * on the upstream's origin only, until the operation ends; the job then finishes with the operation's real outcome.
 */

/** Polling pace without a `Retry-After`, and the bounds a `Retry-After` is held to. */
export const FOLLOW_INTERVAL_MS = 1_000;
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 60_000;
/** Polls in a row that may fail (network error, 429, 502–504) before the job fails as `upstream-unreachable`. */
const MAX_POLL_FAILURES = 5;
/** A status document is read whole: at most this much of it. */
const MAX_STATUS_BYTES = 1024 * 1024;
const TRANSIENT = new Set([429, 502, 503, 504]);
const RESULT_REDIRECTS = new Set([302, 303]);
const MONITOR_MOVED = new Set([301, 307, 308]);
/** What a request's body headers say about it: not sent on the polls, which have no body. */
const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'content-language', 'expect', 'idempotency-key', 'if-match', 'if-none-match']);

export interface FollowContext {
  agent: Dispatcher;
  /** The upstream's origin: the only one polled. */
  origin: string;
  job: Job;
  /** The absolute URL the job's request is sent to (relative monitors resolve against it). */
  url: string;
  signal: AbortSignal;
  /** The attempt's headers (credentials, job id, trace context); body headers are dropped from them here. */
  headers: string[];
  report: (p: JobProgress) => void;
  keep: ExecutionContext['keepUpstreamMonitor'];
}

/** Headers of an undici response as a fetch `Headers`, for the shared discovery. */
function toHeaders(raw: UpstreamResponse['headers']): Headers {
  const h = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) h.append(name, v);
  }
  return h;
}

/** Does this 202 name a monitor the rule follows? (The header names are the rule's, not just any link.) */
export function namesMonitor(res: UpstreamResponse): boolean {
  return res.status === 202 && ['operation-location', 'azure-asyncoperation', 'location'].some((n) => res.headers[n] !== undefined);
}

/**
 * An upstream 202 that names a monitor: keep the operation with the job, then follow it. `sentAt` is when the
 * request went out (the follow ends at it plus the job's timeout).
 */
export async function followAccepted(ctx: FollowContext, res: UpstreamResponse, sentAt: number): Promise<Outcome> {
  const text = await readText(res.body);
  if (text === undefined) return tooLarge();
  const op = discoverOperation(toHeaders(res.headers), text, ctx.url);
  if (!op) return refused('the upstream named no usable monitor');
  const monitor: UpstreamMonitor = { url: op.monitor, convention: op.convention, since: sentAt };
  if (op.location) monitor.location = op.location;
  if (op.cancel) monitor.cancel = op.cancel;
  for (const url of [monitor.url, monitor.location, monitor.cancel]) {
    if (url !== undefined && !sameOrigin(url, ctx.origin)) return refused(`the upstream named ${url}, not on ${ctx.origin}`);
  }
  if (!(await ctx.keep(monitor))) return { kind: 'fail', error: { code: 'internal', message: 'the lease was lost before the monitor was kept' } };
  if (op.initial) mirror(ctx, op.initial);
  return follow(ctx, monitor, op.retryAfterMs);
}

/** Poll the monitor until the operation ends (also where a rescued job resumes). */
export async function follow(ctx: FollowContext, monitor: UpstreamMonitor, firstDelayMs?: number): Promise<Outcome> {
  let m = monitor;
  const deadline = m.since + ctx.job.options.timeoutMs;
  const headers = pollHeaders(ctx.headers);
  let url = m.url;
  let delay = pace(firstDelayMs);
  let failures = 0;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'fail', error: { code: 'upstream-timeout', message: `${JOB_ERROR_CODES['upstream-timeout']} (the followed operation did not end)` } };
      await sleep(Math.min(delay, left), ctx.signal);
      let res: UpstreamResponse;
      try {
        res = await get(ctx, url, headers);
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (++failures > MAX_POLL_FAILURES) return unreachable(`the monitor could not be reached: ${(error as Error).message}`);
        delay = backoff(failures);
        continue;
      }
      const retryAfter = parseRetryAfter(header(res.headers['retry-after']));
      if (TRANSIENT.has(res.status)) {
        await drain(res.body);
        if (++failures > MAX_POLL_FAILURES) return unreachable(`the monitor answered ${res.status} ${failures} times in a row`);
        delay = retryAfter !== undefined ? pace(retryAfter) : backoff(failures);
        continue;
      }
      failures = 0;
      delay = pace(retryAfter);
      const location = header(res.headers.location);
      if (location && (RESULT_REDIRECTS.has(res.status) || MONITOR_MOVED.has(res.status))) {
        await drain(res.body);
        const target = new URL(location, url).href;
        if (!sameOrigin(target, ctx.origin)) return refused(`the monitor pointed to ${target}, not on ${ctx.origin}`);
        // 303 (and 302): the result is there. 301/307/308: the monitor moved.
        if (RESULT_REDIRECTS.has(res.status)) return finalAt(ctx, target, headers);
        url = target;
        delay = 0;
        continue;
      }
      if (res.status >= 300 || (m.convention === 'plain' && res.status !== 202)) return responseOutcome(res); // the answer itself
      const text = await readText(res.body);
      if (text === undefined) return tooLarge();
      const reading = readStatus(parseJson(text));
      if (!reading) {
        if (res.status === 202) continue; // still running, says nothing more
        return responseOutcome(res, text);
      }
      mirror(ctx, reading);
      const cancel = reading.links.cancel && new URL(reading.links.cancel, url).href;
      if (cancel && !m.cancel && sameOrigin(cancel, ctx.origin)) m = { ...m, cancel };
      if (reading.status === 'Succeeded') {
        const target = reading.resultUrl ?? m.location ?? (['PUT', 'PATCH'].includes(ctx.job.request.method) ? ctx.url : undefined);
        if (target === undefined) return responseOutcome(res, text); // the status document is all there is
        const absolute = new URL(target, url).href;
        if (!sameOrigin(absolute, ctx.origin)) return refused(`the operation's result is at ${absolute}, not on ${ctx.origin}`);
        return finalAt(ctx, absolute, headers);
      }
      if (reading.status === 'Failed' || reading.status === 'Canceled') return responseOutcome(res, text, operationError(reading));
    }
  } catch (error) {
    if (ctx.signal.reason instanceof AbortReason && ctx.signal.reason.why === 'canceled') await passOnCancel(ctx, m, headers);
    throw error;
  }
}

/** The job's error when the operation ended Failed (its `error`) or Canceled (by the upstream, not by the client). */
function operationError(reading: StatusReading): JobError {
  const base = JOB_ERROR_CODES['upstream-operation-failed'];
  if (reading.status === 'Canceled') return { code: 'upstream-operation-failed', message: `${base}: the upstream canceled it` };
  const detail = reading.error ? `: ${reading.error.code}${reading.error.message ? `: ${reading.error.message}` : ''}` : '';
  return { code: 'upstream-operation-failed', message: `${base}${detail}` };
}

/** Best effort: POST the operation's cancel link, else DELETE its monitor; whatever happens, the job is canceled. */
async function passOnCancel(ctx: FollowContext, m: UpstreamMonitor, headers: string[]): Promise<void> {
  const quick = AbortSignal.timeout(5_000);
  const url = new URL(m.cancel ?? m.url);
  try {
    const res = await callUpstream(ctx.agent, { origin: ctx.origin, path: url.pathname + url.search, method: m.cancel ? 'POST' : 'DELETE', headers }, quick, () => undefined);
    await drain(res.body);
  } catch {
    // the upstream may run on; the job is canceled all the same
  }
}

async function finalAt(ctx: FollowContext, url: string, headers: string[]): Promise<Outcome> {
  return responseOutcome(await get(ctx, url, headers));
}

function get(ctx: FollowContext, url: string, headers: string[]): Promise<UpstreamResponse> {
  const u = new URL(url);
  return callUpstream(ctx.agent, { origin: ctx.origin, path: u.pathname + u.search, method: 'GET', headers }, ctx.signal, () => undefined);
}

function responseOutcome(res: UpstreamResponse, text?: string, error?: JobError): Outcome {
  const body = text === undefined ? res.body : once(Buffer.from(text));
  const out: Outcome = { kind: 'response', status: res.status, headers: responseHeaderPairs(res.headers), body };
  if (error) out.error = error;
  return out;
}

function mirror(ctx: FollowContext, reading: StatusReading): void {
  const p: JobProgress = {};
  if (reading.percent !== undefined) p.percent = reading.percent;
  if (reading.progress?.current !== undefined) p.current = reading.progress.current;
  if (reading.progress?.total !== undefined) p.total = reading.progress.total;
  if (reading.progress?.message !== undefined) p.message = reading.progress.message;
  if (Object.keys(p).length) ctx.report(p);
}

function pollHeaders(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!BODY_HEADERS.has(headers[i]!)) out.push(headers[i]!, headers[i + 1]!);
  return out;
}

export function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

const refused = (why: string): Outcome => ({ kind: 'fail', error: { code: 'upstream-monitor-refused', message: `${JOB_ERROR_CODES['upstream-monitor-refused']}: ${why}` } });
const unreachable = (why: string): Outcome => ({ kind: 'fail', error: { code: 'upstream-unreachable', message: `${JOB_ERROR_CODES['upstream-unreachable']}: ${why}` } });
const tooLarge = (): Outcome => ({ kind: 'fail', error: { code: 'result-too-large', message: `the upstream's status document passed ${MAX_STATUS_BYTES} bytes` } });

/** A Retry-After (ms) held to the bounds, or the default pace. */
function pace(ms: number | undefined): number {
  return ms === undefined ? FOLLOW_INTERVAL_MS : Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, ms));
}

function backoff(failures: number): number {
  return Math.min(MAX_INTERVAL_MS, FOLLOW_INTERVAL_MS * 2 ** (failures - 1));
}

/** The body as text, or undefined past MAX_STATUS_BYTES (the rest is not read). */
async function readText(body: AsyncIterable<Uint8Array>): Promise<string | undefined> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_STATUS_BYTES) return undefined; // leaving the loop cuts the exchange
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of body);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
