/**
 * Polling the status monitor until the job ends. The strategy:
 *
 * - `Retry-After` (RFC 9110 §10.2.3) is the spacing between poll *starts*; without one, `pollInterval`.
 * - Every poll asks `Prefer: wait=N` (RFC 7240 §4.3) and sends `If-None-Match` with the last `ETag`. A server that
 *   does not long-poll ignores both, and is polled at `Retry-After` pace. One that does (asyncgate) holds the
 *   request until the job changes. Once it has shown that it does (an unchanged answer that took at least half
 *   of N), the client re-polls at once after each answer: the held request is the wait. An unchanged answer that
 *   came back at once drops back to `Retry-After` pace, so a server that stops holding is never hammered.
 * - `429` and `502/503/504` (and network errors) are retried after `Retry-After` or an exponential backoff, up to
 *   `maxRetries` in a row; `404`/`410` mean the job is gone; other errors end the wait.
 */
import { parseRetryAfter } from '../protocol/retry-after.js';
import { bodySnippet, responseWith, sleep, type Outcome, type WatchContext } from './context.js';
import { learnLinks, parseJson, type Operation } from './discovery.js';
import { AsyncJobGoneError, AsyncMonitorError } from './errors.js';
import { parseHttpResponseMessage } from './http-message.js';
import { isTerminal, readStatus } from './status.js';

const TRANSIENT = new Set([429, 502, 503, 504]);
const RESULT_REDIRECTS = new Set([302, 303]);
const MONITOR_MOVED = new Set([301, 307, 308]);

/** The final response an OData monitor answered: unwrapped when it is an `application/http` envelope. */
async function finalResponse(res: Response): Promise<Response> {
  if (!/^application\/http\b/i.test(res.headers.get('content-type') ?? '')) return res;
  const bytes = new Uint8Array(await res.arrayBuffer());
  return parseHttpResponseMessage(bytes) ?? responseWith(res, bytes);
}

/**
 * Poll `op.monitor` until an outcome. Returns `undefined` when the representation reveals an event stream
 * and `switchToEvents` is set, so the caller can listen instead.
 */
export async function pollMonitor(op: Operation, ctx: WatchContext, switchToEvents: boolean): Promise<Outcome | undefined> {
  let delay = op.retryAfterMs ?? ctx.pollInterval;
  let etag = op.etag;
  let longPoll = false;
  let failures = 0;
  const snapshot = () => ({ monitor: op.monitor, representation: op.representation });
  for (;;) {
    await sleep(delay, ctx.signal);
    const waitSeconds = Math.min(ctx.longPollSeconds, Math.floor((ctx.deadline - Date.now()) / 1000));
    const headers = ctx.headersFor(op.monitor);
    if (etag) headers.set('if-none-match', etag);
    if (waitSeconds > 0) headers.set('prefer', `wait=${waitSeconds}`);
    const started = Date.now();
    let res: Response;
    try {
      res = await ctx.fetch(op.monitor, { headers, redirect: 'manual', signal: ctx.signal });
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (++failures > ctx.maxRetries) throw new AsyncMonitorError(`the monitor could not be reached: ${(error as Error).message}`, snapshot(), undefined, undefined, { cause: error });
      delay = backoff(failures);
      continue;
    }
    const elapsed = Date.now() - started;
    const retryAfter = parseRetryAfter(res.headers.get('retry-after') ?? undefined);
    const paced = Math.max(0, (retryAfter ?? ctx.pollInterval) - elapsed);
    // An unchanged answer after most of the wait: the server held it, so it long-polls.
    const heldUnchanged = waitSeconds > 0 && elapsed >= waitSeconds * 500;

    if (TRANSIENT.has(res.status)) {
      await res.body?.cancel();
      if (res.status !== 429 && ++failures > ctx.maxRetries) {
        throw new AsyncMonitorError(`the monitor answered ${res.status} ${failures} times in a row`, snapshot(), res.status);
      }
      delay = retryAfter ?? backoff(Math.max(1, failures));
      continue;
    }
    failures = 0;
    if (res.status === 304) {
      // An unchanged answer that came back at once was not held: back to Retry-After pace (no hot loop).
      longPoll = heldUnchanged;
      delay = longPoll ? 0 : paced;
      continue;
    }
    const location = res.headers.get('location');
    if (location && (RESULT_REDIRECTS.has(res.status) || MONITOR_MOVED.has(res.status))) {
      await res.body?.cancel();
      const target = new URL(location, op.monitor).href;
      // 303 (Accept-Asynchronous: polling) and 302: the result is there. 301/307/308: the monitor moved.
      if (RESULT_REDIRECTS.has(res.status)) return { type: 'redirect', url: target };
      op.monitor = target;
      delay = 0;
      continue;
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      throw new AsyncJobGoneError(snapshot(), res.status);
    }
    if (!res.ok) {
      throw new AsyncMonitorError(`the monitor answered ${res.status}`, snapshot(), res.status, await bodySnippet(res));
    }
    etag = res.headers.get('etag') ?? undefined;
    if (op.convention === 'plain' && res.status !== 202) return { type: 'response', response: await finalResponse(res) };

    const text = await res.text();
    const representation = parseJson(text);
    const reading = readStatus(representation);
    if (!reading) {
      // No status document: a 202 still means "running"; anything else is the answer itself.
      if (res.status !== 202) return { type: 'response', response: responseWith(res, text) };
      delay = paced;
      continue;
    }
    op.representation = representation;
    learnLinks(op, reading);
    const changed = ctx.observe(reading, representation);
    if (isTerminal(reading.status)) return { type: 'status', reading, representation, response: responseWith(res, text) };
    if (switchToEvents && op.events) return undefined;
    if (!changed) longPoll = heldUnchanged;
    delay = longPoll ? 0 : paced;
  }
}

/** 1 s, 2 s, 4 s … capped at 30 s. */
function backoff(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** (failures - 1));
}
