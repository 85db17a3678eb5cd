import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteRule } from '../config/routes.js';
import { suggestedPollSeconds } from '../engine/poll-interval.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { TERMINAL_STATES } from '../model.js';
import { formatLink } from '../protocol/link.js';
import { answerFinished, commitJob, endWhenAnswered, type AcceptDeps } from './accept.js';

/** Methods whose repetition is harmless by definition (RFC 9110 §9.2.1): a key changes nothing for them. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Past the route timeout, so that an attempt that timed out answers its own failure rather than ours. */
const WAIT_MARGIN_MS = 5_000;

/** Is this a synchronous request whose Idempotency-Key asyncgate honours (any unsafe method, off `never` routes)? */
export function isKeyedSync(req: IncomingMessage, rule: RouteRule | undefined): boolean {
  return req.headers['idempotency-key'] !== undefined && rule?.async !== 'never' && !SAFE.has(req.method ?? 'GET');
}

/**
 * A synchronous request with an Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): committed as a
 * job, with the same owner + key uniqueness as an asynchronous one, and answered on this connection with the
 * job's response once it finishes, never with a 202. A repeat of a finished one replays that response; a
 * repeat while it runs is `409 idempotency-key-in-use` with Retry-After. A client that hangs up stops
 * waiting, not the job.
 */
export async function acceptKeyedSync(
  req: IncomingMessage,
  res: ServerResponse,
  rule: RouteRule | undefined,
  deps: AcceptDeps,
  preread?: Buffer | null,
  originalUrl?: string,
): Promise<void> {
  const { job, created, origin, span } = await commitJob(req, { dialect: 'idempotency-key', redirectWhenDone: false, callbacks: [] }, rule, deps, preread, originalUrl);
  endWhenAnswered(span, res);
  const urls = deps.urls.forOrigin(origin, job.id);
  const link = formatLink(urls.self, { rel: 'monitor' });
  let current = job;
  if (!TERMINAL_STATES.has(current.state)) {
    if (!created) {
      throw new AsyncgateError('idempotency-key-in-use', 'the request with this Idempotency-Key has not finished yet: repeat it later for its response', {
        headers: { 'retry-after': String(suggestedPollSeconds(current, Date.now())), link },
        members: { job: urls.self },
      });
    }
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    // The client asked for a synchronous answer: no cap but the route's timeout.
    const waitMs = (rule?.timeout ?? deps.settings.timeoutMs) + WAIT_MARGIN_MS;
    current = (await deps.engine.waitForTerminal(job.id, waitMs, closed.signal)) ?? current;
    if (closed.signal.aborted) return; // gone: the job runs on, and a repeat gets its response
    if (!TERMINAL_STATES.has(current.state)) {
      throw new AsyncgateError('upstream-timeout', 'the job has not finished in the route timeout: repeat the request with the same Idempotency-Key for its response later', {
        headers: { link },
        members: { job: urls.self },
      });
    }
  }
  await answerFinished(res, current, deps.engine, urls, req.method === 'HEAD');
}
