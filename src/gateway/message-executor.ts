import type { Dispatcher } from 'undici';
import { AbortReason, type Executor, type Outcome } from '../engine/executor.js';
import type { UpstashKeys } from '../delivery/upstash-signature.js';
import { SSRF_ERROR_CODE } from '../delivery/ssrf.js';
import { responseHeaderPairs } from '../intake/forward-headers.js';
import type { Job } from '../model.js';
import { compileRetryDelay } from '../protocol/upstash-headers.js';
import { wholeBody } from '../shared/pieces.js';
import { callUpstream } from './upstream-call.js';
import { flatHeaders, neverReachedUpstream } from './upstream.js';

const BODILESS = new Set(['GET', 'HEAD']);
/** The longest wait between two attempts of a message: a day, as QStash caps it. */
const MAX_DELAY_MS = 86_400_000;

/**
 * The executor of QStash messages (docs/qstash.md): sends a message's request to its destination through the
 * SSRF-guarded agent, signed with the owner's `Upstash-Signature`, with the headers QStash adds (`Upstash-Message-Id`,
 * `Upstash-Retried`…). Any answer but a 2xx is tried again after the message's retry delay while attempts are left;
 * the last answer is kept as the message's result either way.
 */
export function messageExecutor(agent: Dispatcher, keys: UpstashKeys): Executor {
  const delays = new Map<string, (retried: number) => number>();
  const delayOf = (job: Job): number => {
    const expr = job.options.message?.retryDelay;
    // QStash's default backoff: e^(2.5·n) seconds before the n-th retry, at most a day.
    if (!expr) return Math.min(MAX_DELAY_MS, Math.round(Math.exp(2.5 * job.attempts) * 1000));
    let f = delays.get(expr);
    if (!f) {
      f = compileRetryDelay(expr); // checked when published: it compiles
      if (delays.size > 1000) delays.clear();
      delays.set(expr, f);
    }
    return Math.max(1, f(job.attempts - 1));
  };
  return async ({ job, signal, body: requestBody }): Promise<Outcome> => {
    const message = job.options.message!;
    const target = new URL(message.destination);
    // A GET or HEAD is sent without a body, whatever was published with it; the signature covers what is sent.
    const body = BODILESS.has(job.request.method) ? null : await wholeBody(requestBody());
    const headers = flatHeaders(job.request.headers);
    headers.push(
      'user-agent',
      'Upstash-QStash',
      'upstash-message-id',
      job.id,
      'upstash-retried',
      String(job.attempts - 1),
      'upstash-signature',
      await keys.sign(job.owner, message.destination, body ?? ''),
    );
    if (message.urlGroup) headers.push('upstash-topic-name', message.urlGroup);
    if (message.scheduleId) headers.push('upstash-schedule-id', message.scheduleId);
    if (message.callerIp) headers.push('upstash-caller-ip', message.callerIp);
    let res;
    try {
      res = await callUpstream(
        agent,
        { origin: target.origin, path: target.pathname + target.search, method: job.request.method as 'POST', headers, body: body ?? undefined },
        signal,
        () => {},
      );
    } catch (error) {
      if (signal.aborted) throw signal.reason instanceof AbortReason ? signal.reason : error;
      const code = (error as { code?: string }).code;
      const text = (error as Error).message;
      // Refused by the SSRF guard at dial time: no attempt can change that.
      if (code === SSRF_ERROR_CODE) return { kind: 'fail', error: { code: 'upstream-unreachable', message: `the destination was refused: ${text}` } };
      return { kind: 'retry', sent: !neverReachedUpstream(error), error: { code: 'upstream-unreachable', message: `the destination could not be reached: ${text}` }, delayMs: delayOf(job) };
    }
    const outcome: Outcome = { kind: 'response', status: res.status, headers: responseHeaderPairs(res.headers), body: res.body };
    if (res.status >= 300) {
      // Not a 2xx: tried again while attempts are left, and failed (dead-lettered) after the last, 3xx too.
      outcome.retryAfterMs = delayOf(job);
      outcome.error = { code: 'upstream-http-error', message: `the destination answered ${res.status}` };
    }
    return outcome;
  };
}
