import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteRule } from '../config/routes.js';
import type { Settings } from '../config/settings.js';
import type { Engine } from '../engine/engine.js';
import { newDeliveryId, sha256 } from '../engine/ids.js';
import { endSpan, errorType, jobTraceId, startAcceptSpan, type Span } from '../engine/job-trace.js';
import { credentialOwner } from '../engine/owner.js';
import { suggestedPollSeconds } from '../engine/poll-interval.js';
import { asProblem } from '../errors/as-problem.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { jobFailure } from '../resource/job-failure.js';
import { replayResult } from '../resource/replay.js';
import { jobEtag, representation } from '../resource/representation.js';
import { sendJson } from '../resource/respond.js';
import { type JobUrls, type UrlBuilder, requestProto } from '../resource/urls.js';
import { TERMINAL_STATES, type Job, type JobTrace, type NewJob } from '../model.js';
import { parseIdempotencyKey } from '../protocol/idempotency-key.js';
import { parseRetryAfter } from '../protocol/retry-after.js';
import { formatLink } from '../protocol/link.js';
import { noteRequest, ROUTE_NAMES } from '../telemetry/request-note.js';
import { forwardHeaders } from './forward-headers.js';
import { spoolBody } from './spool.js';
import type { Negotiation } from './negotiate.js';
import { pushCallbacks } from './push-wish.js';

/** RFC 9110 §9.2.2: methods whose repetition has the same effect as one request. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const DEFAULT_ATTEMPTS = 5;
/** The control header that delays a job (answered here, never forwarded). */
export const NOT_BEFORE_HEADER = 'asyncgate-not-before';
const MAX_DELAY_MS = 365 * 86_400_000;

export interface AcceptDeps {
  engine: Engine;
  settings: Pick<Settings, 'maxBodyBytes' | 'ownerHeader' | 'timeoutMs' | 'retentionMs'>;
  urls: UrlBuilder;
  ownerSalt: string;
}

/** A job committed from a request (new, or the one an Idempotency-Key already named). */
export interface Committed {
  job: Job;
  created: boolean;
  /** The public origin worked out from the request (`Forwarded` / `X-Forwarded-*` / `Host`). */
  origin: string;
  /** The accept span (when an OpenTelemetry SDK is registered): end it with endWhenAnswered. */
  span: Span | undefined;
}

/**
 * Read a request and commit it as a job, durably. A repeat of an Idempotency-Key (same owner) returns the
 * job it named, and nothing is written; the same key for another method, URL or body is a 422.
 */
export async function commitJob(
  req: IncomingMessage,
  neg: Pick<Extract<Negotiation, { async: true }>, 'dialect' | 'redirectWhenDone' | 'callbacks' | 'push'>,
  rule: RouteRule | undefined,
  deps: AcceptDeps,
  preread?: Buffer | null,
  originalUrl?: string,
): Promise<Committed> {
  const accept = startAcceptSpan(req.headers.traceparent, req.headers.tracestate);
  try {
    const committed = await commitTraced(req, neg, rule, deps, accept.trace, accept.span, preread, originalUrl);
    noteRequest(req, { route: ROUTE_NAMES.accept, jobId: committed.job.id, traceId: jobTraceId(committed.job) });
    return committed;
  } catch (error) {
    endSpan(accept.span, { error: errorType(error) }, 500);
    throw error;
  }
}

async function commitTraced(
  req: IncomingMessage,
  neg: Pick<Extract<Negotiation, { async: true }>, 'dialect' | 'redirectWhenDone' | 'callbacks' | 'push'>,
  rule: RouteRule | undefined,
  deps: AcceptDeps,
  trace: JobTrace,
  span: Span | undefined,
  preread: Buffer | null | undefined,
  originalUrl: string | undefined,
): Promise<Committed> {
  const { engine, settings } = deps;
  const idempotencyKey = asProblem('invalid-idempotency-key', () => parseIdempotencyKey(req.headers['idempotency-key']));
  const notBefore = notBeforeOf(req.headers[NOT_BEFORE_HEADER]);
  const method = req.method ?? 'GET';
  const url = originalUrl ?? req.url ?? '/';
  const owner = credentialOwner(req.headers, deps.ownerSalt, settings.ownerHeader);
  const id = engine.newJobId(owner, idempotencyKey);
  if (span?.isRecording()) {
    const q = url.indexOf('?');
    span.setAttributes({
      'http.request.method': method,
      'url.path': q === -1 ? url : url.slice(0, q),
      'url.scheme': requestProto(req),
      'asyncgate.job.id': id,
    });
  }
  // A body already read (to look for a callback_url field) is small; any other is streamed into the store.
  const body =
    preread !== undefined
      ? { inline: preread, size: preread?.length ?? 0, requestHash: sha256(method, url, preread) }
      : await spoolBody(req, engine.store, id, rule?.maxBodySize ?? settings.maxBodyBytes, method, url);
  const proto = requestProto(req);
  // Forwarded / X-Forwarded-* / Host, worked out once: every URL of this answer and the job's callbacks use it.
  const origin = deps.urls.origin(req);
  const retryable = IDEMPOTENT.has(method) || idempotencyKey !== undefined || rule?.retry?.unsafe === true;
  // A push goes to the subscriptions the owner has now, one delivery each (docs/push.md).
  const pushes = neg.push ? await pushCallbacks(engine.store, owner) : [];
  const job: NewJob = {
    id,
    dialect: neg.dialect,
    owner,
    idempotencyKey: idempotencyKey ?? null,
    requestHash: body.requestHash,
    // Content-Length is recomputed from the stored body (a callback_url field may have been removed).
    request: {
      method,
      url,
      headers: forwardHeaders(req, proto).filter(([n]) => n !== 'content-length'),
      body: body.inline,
      bodySize: body.size,
    },
    options: {
      timeoutMs: rule?.timeout ?? settings.timeoutMs,
      retryable,
      maxAttempts: rule?.retry?.attempts ?? DEFAULT_ATTEMPTS,
      retentionMs: rule?.retention ?? settings.retentionMs,
      ...(neg.redirectWhenDone ? { redirectWhenDone: true } : {}),
      ...(rule ? { route: rule.name } : {}),
      ...(rule?.upstreamAsync === 'follow' ? { upstreamAsync: 'follow' as const } : {}),
      origin,
      sourceUrl: origin + url,
      trace,
      ...(neg.push ? { push: true } : {}),
    },
    createdAt: Date.now(),
    ...(notBefore !== undefined ? { runAt: notBefore } : {}),
    callbacks: [...neg.callbacks, ...pushes].map((c) => ({ ...c, id: newDeliveryId(id) })),
  };
  const { job: stored, created } = await engine.accept(job);
  // A repeated Idempotency-Key names the job it first made.
  if (!created && span?.isRecording()) span.setAttribute('asyncgate.job.id', stored.id);
  if (!created && stored.requestHash !== job.requestHash) {
    throw new AsyncgateError(
      'idempotency-key-reused',
      'this Idempotency-Key was already used for a different method, URL or body',
      { members: { job: deps.urls.forOrigin(origin, stored.id).self } },
    );
  }
  if (span?.isRecording()) span.setAttribute('server.address', new URL(origin).hostname);
  return { job: stored, created, origin, span };
}

/**
 * `Asyncgate-Not-Before` (docs/dialects.md#not-before): the job may not run before this time, given as
 * Retry-After is (RFC 9110 §10.2.3: delay-seconds, or an HTTP-date). undefined when absent or already due.
 */
function notBeforeOf(field: string | string[] | undefined): number | undefined {
  if (field === undefined) return undefined;
  const now = Date.now();
  const ms = Array.isArray(field) ? undefined : parseRetryAfter(field, now);
  if (ms === undefined) throw new AsyncgateError('invalid-header', 'Asyncgate-Not-Before: delay-seconds (e.g. 30) or an HTTP-date (e.g. Sun, 06 Nov 1994 08:49:37 GMT)');
  if (ms > MAX_DELAY_MS) throw new AsyncgateError('invalid-header', 'Asyncgate-Not-Before: at most a year from now');
  return ms > 0 ? now + ms : undefined;
}

/** End the accept span once the request is answered (202, a result, or a problem), with the status sent. */
export function endWhenAnswered(span: Span | undefined, res: ServerResponse): void {
  if (span) res.once('close', () => endSpan(span, { status: res.statusCode }, 500));
}

/**
 * Accept a request asynchronously: read it, commit it as a job (durably, before anything is answered),
 * then answer `202 Accepted` with the monitor — or, with `Prefer: wait=N`, the real response if the job
 * finishes within N seconds (RFC 7240 §4.3).
 */
export async function acceptAsync(
  req: IncomingMessage,
  res: ServerResponse,
  neg: Extract<Negotiation, { async: true }>,
  rule: RouteRule | undefined,
  deps: AcceptDeps,
  /** The body, when it was already read (to look for a `callback_url` field, or by an app's body parser). */
  preread?: Buffer | null,
  /** The request URL when `req.url` was rewritten (Express strips a mounted router's path). */
  originalUrl?: string,
): Promise<void> {
  const { engine } = deps;
  const method = req.method ?? 'GET';
  const { job: stored, origin, span } = await commitJob(req, neg, rule, deps, preread, originalUrl);
  endWhenAnswered(span, res);

  let current: Job = stored;
  if (neg.waitSeconds > 0 && !TERMINAL_STATES.has(current.state)) {
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    current = (await engine.waitForTerminal(stored.id, neg.waitSeconds * 1000, closed.signal)) ?? current;
  }
  if (TERMINAL_STATES.has(current.state) && neg.waitSeconds > 0) {
    return answerFinished(res, current, engine, deps.urls.forOrigin(origin, current.id), method === 'HEAD');
  }
  answerAccepted(res, current, deps.urls.forOrigin(origin, current.id), neg);
}

/** Answer with a finished job's outcome: its stored response replayed, or the problem its failure maps to. */
export async function answerFinished(res: ServerResponse, job: Job, engine: Engine, urls: JobUrls, head: boolean): Promise<void> {
  const link = formatLink(urls.self, { rel: 'monitor' });
  if (!job.response) throw jobFailure(job, { link });
  await replayResult(res, job, engine.readResult(job.id), head, Date.now(), { vary: 'Prefer', link, 'content-location': urls.result });
}

function answerAccepted(res: ServerResponse, job: Job, urls: JobUrls, neg: Extract<Negotiation, { async: true }>): void {
  const headers: Record<string, string> = {
    location: urls.self,
    'operation-location': urls.self,
    'retry-after': String(suggestedPollSeconds(job, Date.now())),
    link: `${formatLink(urls.self, { rel: 'monitor' })}, ${formatLink(urls.events, { rel: 'events' })}`,
    vary: 'Prefer',
    // The body is the monitor's representation (RFC 9110 §8.7), so the ETag is the monitor's too.
    'content-location': urls.self,
    etag: jobEtag(job),
    'cache-control': 'no-store',
  };
  if (neg.applied.length) headers['preference-applied'] = neg.applied.join(', ');
  const body = representation(job, urls);
  // Lyst's convention: the 202 of a callback_url request names the resource to consult.
  if (neg.dialect === 'callback-url') body.resource_url = urls.self;
  sendJson(res, 202, body, headers);
}
