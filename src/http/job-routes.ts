import type { Engine } from '../engine/engine.js';
import { suggestedPollSeconds } from '../engine/poll-interval.js';
import { asProblem } from '../errors/as-problem.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { JOB_FAILURE_PROBLEMS } from '../errors/codes.js';
import { TERMINAL_STATES, type Job } from '../model.js';
import { ifNoneMatchMatches } from '../protocol/etag.js';
import { formatLink } from '../protocol/link.js';
import { parsePrefer, preferredWait } from '../protocol/prefer.js';
import { formatContentRange, parseRange } from '../protocol/range.js';
import { jobFailure } from '../resource/job-failure.js';
import { httpDate, maxAge, replayResult } from '../resource/replay.js';
import { STATUS_REPRESENTATION_SCHEMA } from '../resource/representation-schema.js';
import { jobEtag, representation } from '../resource/representation.js';
import { sendJson, type Headers } from '../resource/respond.js';
import type { UrlBuilder } from '../resource/urls.js';
import { findJob } from './access.js';
import { lastEventId, type EventStreams } from './event-stream.js';
import { CLOSE_GOING_AWAY, type JobWebSockets } from './job-websocket.js';
import * as doc from './openapi-components.js';
import { PollGate } from './poll-gate.js';
import type { JobContext, JobUpgradeContext, PrefixRoute } from './route-table.js';

export interface JobRoutesOptions {
  engine: Engine;
  urls: UrlBuilder;
  streams: EventStreams;
  sockets: JobWebSockets;
  maxWaitMs: number;
  minPollIntervalMs: number;
  /** Aborted when the server starts draining: long polls then answer the current state at once. */
  draining?: AbortSignal;
}

/**
 * A job's own endpoints: monitor (and long poll), event stream, result replay, cancel, delete. Every row is
 * `owner` access: the router has already checked the caller's credentials against the job's owner (another
 * caller gets 404, as for no job).
 */
export function jobRoutes(options: JobRoutesOptions): PrefixRoute[] {
  const { engine, urls } = options;
  const pollGate = new PollGate(options.minPollIntervalMs);

  const longPollMs = (ctx: JobContext): number => {
    const wait = asProblem('invalid-prefer', () => preferredWait(parsePrefer(ctx.req.headers.prefer)));
    return wait === undefined ? 0 : Math.min(wait * 1000, options.maxWaitMs);
  };

  async function monitor(ctx: JobContext): Promise<void> {
    const { req, res } = ctx;
    let job = ctx.job;
    const waitMs = longPollMs(ctx);
    if (waitMs > 0 && !TERMINAL_STATES.has(job.state)) {
      // Long poll: from the version the client holds (If-None-Match) or the current one.
      const since = ifNoneMatchMatches(req.headers['if-none-match'], jobEtag(job)) || !req.headers['if-none-match'];
      if (since) {
        const closed = new AbortController();
        const stop = () => closed.abort();
        res.once('close', stop);
        if (options.draining?.aborted) stop();
        options.draining?.addEventListener('abort', stop, { once: true });
        const changed = await engine.waitForChange(job.id, job.version, waitMs, closed.signal).finally(() => options.draining?.removeEventListener('abort', stop));
        // The router found the caller to be the owner: it may learn the job is gone.
        if (!changed) throw new AsyncgateError((await engine.tombstoneOwner(job.id)) !== undefined ? 'job-gone' : 'job-not-found');
        job = changed;
      }
    } else if (!pollGate.allow(job.id, Date.now())) {
      const retry = Math.ceil(options.minPollIntervalMs / 1000);
      throw new AsyncgateError('poll-too-soon', `poll at most every ${retry} s`, { headers: { 'retry-after': String(retry) } });
    }
    const links = urls.job(req, job.id);
    const now = Date.now();
    const terminal = TERMINAL_STATES.has(job.state);
    const headers: Headers = { etag: jobEtag(job), vary: 'Prefer', link: formatLink(links.events, { rel: 'events' }) };
    if (terminal) {
      headers['cache-control'] = `private, max-age=${maxAge(job, now)}`;
    } else {
      headers['cache-control'] = 'private, no-cache';
      headers['retry-after'] = String(suggestedPollSeconds(job, now));
    }
    if (terminal && job.options.redirectWhenDone) {
      // Accept-Asynchronous: polling. The design says 301; 303 See Other is RFC 9110's "the answer is
      // elsewhere" (docs/dialects.md explains).
      res.writeHead(303, { location: links.result, expires: httpDate(job.expiresAt ?? now), ...headers, 'content-length': 0 });
      res.end();
      return;
    }
    if (ifNoneMatchMatches(req.headers['if-none-match'], jobEtag(job))) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    sendJson(res, 200, representation(job, links), headers, req.method === 'HEAD');
  }

  /**
   * The event stream: no minimum poll interval, since one stream replaces a series of polls. Subscribed, then
   * the job read again, so no change between the router's read and the subscription is lost.
   */
  async function eventStream({ req, res, job }: JobContext): Promise<void> {
    const stream = options.streams.attach(job.id, lastEventId(req.headers['last-event-id']));
    let current: Job;
    try {
      current = await findJob(engine, job.id, job.owner);
    } catch (error) {
      stream.close();
      throw error;
    }
    stream.start(res, current, urls.job(req, job.id));
    // Opened during a drain: the current state, then the end, as for the streams open when it began.
    if (options.draining?.aborted) stream.end();
  }

  /**
   * The WebSocket: the event stream's messages over RFC 6455 (http/job-websocket.ts), resumed with `?after=`.
   * Reached through the router's `upgrade`, after the owner check; a plain GET gets 426 (`upgradeRequired`).
   */
  async function webSocket({ req, socket, head, job, query }: JobUpgradeContext): Promise<void> {
    // A browser sends its cookies with a handshake from any site and no CORS applies (RFC 6455 §10.2):
    // cross-site, a cookie must not be what identifies the owner.
    const origin = req.headers.origin;
    if (origin !== undefined && req.headers.cookie !== undefined && origin.toLowerCase() !== urls.origin(req).toLowerCase()) {
      throw new AsyncgateError('forbidden', `a cross-site WebSocket handshake with cookies was refused: Origin ${origin} is not this server's`);
    }
    const link = options.sockets.attach(job.id, lastEventId(query.get('after') ?? undefined));
    let current: Job;
    try {
      current = await findJob(engine, job.id, job.owner);
    } catch (error) {
      link.close();
      throw error;
    }
    options.sockets.upgrade(link, req, socket, head, current, urls.job(req, job.id));
    // Opened during a drain: the current state, then 1001, as for the sockets open when it began.
    if (options.draining?.aborted) link.end(CLOSE_GOING_AWAY);
  }

  async function upgradeRequired(): Promise<void> {
    throw new AsyncgateError('upgrade-required', 'open a WebSocket: GET with Upgrade: websocket (RFC 6455)', { headers: { upgrade: 'websocket', connection: 'Upgrade' } });
  }

  async function result({ req, res, job }: JobContext): Promise<void> {
    const now = Date.now();
    if (!TERMINAL_STATES.has(job.state)) {
      const retry = String(suggestedPollSeconds(job, now));
      throw new AsyncgateError('result-not-ready', `the job is ${job.state}; poll ${urls.job(req, job.id).self}`, {
        headers: { 'retry-after': retry },
      });
    }
    if (!job.response) throw jobFailure(job);
    // A stored result never changes: a client holding its validator gets 304 (RFC 9110 §13.1.2).
    if (ifNoneMatchMatches(req.headers['if-none-match'], resultEtag(job))) {
      res.writeHead(304, { etag: resultEtag(job), 'cache-control': `private, max-age=${maxAge(job, now)}`, expires: httpDate(job.expiresAt ?? now) });
      res.end();
      return;
    }
    // Ranges only of a successful 2xx result (RFC 9110 §14.2: a server may ignore Range), and only while
    // If-Range still names this job's result.
    const size = job.response.size;
    const wanted = job.response.status >= 200 && job.response.status < 300 && ifRangeHolds(req.headers['if-range'] as string | undefined, job) ? req.headers.range : undefined;
    const decision = parseRange(wanted, size);
    const extra: Headers = { 'accept-ranges': 'bytes' };
    if (!storedHeader(job, 'etag')) extra.etag = resultEtag(job);
    if (decision.kind === 'unsatisfiable') {
      throw new AsyncgateError('range-not-satisfiable', `the result is ${size} bytes`, {
        headers: { 'content-range': formatContentRange(null, size) },
        members: { size },
      });
    }
    const range = decision.kind === 'range' ? decision.range : undefined;
    await replayResult(res, job, engine.readResult(job.id, range), req.method === 'HEAD', now, extra, range);
  }

  async function cancel({ req, res, job }: JobContext): Promise<void> {
    const current = TERMINAL_STATES.has(job.state) ? job : ((await engine.cancel(job.id, job.options.retentionMs)) ?? job);
    const body = representation(current, urls.job(req, job.id));
    if (current.state === 'succeeded' || current.state === 'failed') {
      throw new AsyncgateError('job-already-finished', `the job has already ${current.state}`, { members: { job: body } });
    }
    sendJson(res, 200, body, { etag: jobEtag(current), 'cache-control': 'no-store' });
  }

  async function remove({ res, job }: JobContext): Promise<void> {
    await engine.delete(job.id);
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
  }

  return [
    {
      methods: ['GET', 'HEAD'],
      path: '/jobs/:id',
      access: 'owner',
      summary: 'The status monitor; Prefer: wait=N long-polls',
      handle: monitor,
      params: { id: doc.JOB_ID },
      headers: { Prefer: doc.PREFER_WAIT, 'If-None-Match': doc.IF_NONE_MATCH },
      responses: {
        200: {
          description: 'The status representation (Retry-After while the job runs)',
          content: { 'application/json': STATUS_REPRESENTATION_SCHEMA },
          headers: { ETag: doc.ETAG, 'Retry-After': doc.RETRY_AFTER, Link: doc.LINK, 'Cache-Control': doc.CACHE_CONTROL },
        },
        303: { description: 'Accept-Asynchronous: polling, once the job is done: See Other, the result', headers: { Location: RESULT_LOCATION, Expires: doc.EXPIRES } },
        304: { description: 'Not modified: If-None-Match names the current version', headers: { ETag: doc.ETAG } },
      },
      problems: ['invalid-prefer', 'poll-too-soon'],
    },
    {
      methods: ['DELETE'],
      path: '/jobs/:id',
      access: 'owner',
      summary: 'Cancel if running, then forget the job and its result',
      handle: remove,
      params: { id: doc.JOB_ID },
      responses: { 204: { description: 'Deleted: the monitor answers 410 while the tombstone lasts' } },
    },
    {
      methods: ['GET'],
      path: '/jobs/:id/events',
      access: 'owner',
      summary: 'Every change of the job, as text/event-stream',
      handle: eventStream,
      params: { id: doc.JOB_ID },
      headers: { 'Last-Event-ID': doc.LAST_EVENT_ID },
      responses: { 200: { description: 'Server-sent events until the job finishes', content: { 'text/event-stream': EVENT_STREAM } } },
    },
    {
      methods: ['GET'],
      path: '/jobs/:id/ws',
      access: 'owner',
      summary: 'Every change of the job, over a WebSocket (RFC 6455)',
      description:
        'The event stream\'s messages as JSON text frames: `{"event": "status", "id": <version>, "data": <status representation>}` on every change, the current state first; `{"event": "gone", "data": {}}` if the job is deleted. Closes with 1000 after the terminal state (or gone), 1001 when the server shuts down. Pings every --events-heartbeat; a peer that misses a pong is cut.',
      handle: upgradeRequired,
      upgrade: webSocket,
      params: { id: doc.JOB_ID },
      query: { after: doc.WS_AFTER },
      headers: { Upgrade: doc.UPGRADE_WEBSOCKET },
      responses: { 101: { description: 'Switching Protocols: the WebSocket, until the job finishes' } },
      problems: ['upgrade-required', 'forbidden'],
    },
    {
      methods: ['GET', 'HEAD'],
      path: '/jobs/:id/result',
      access: 'owner',
      summary: "The upstream's response, replayed (byte ranges of a 2xx)",
      handle: result,
      params: { id: doc.JOB_ID },
      headers: { 'If-None-Match': doc.IF_NONE_MATCH, Range: doc.RANGE, 'If-Range': doc.IF_RANGE },
      responses: {
        200: { description: "The upstream's own status, headers and body (any status it answered)", content: { '*/*': {} }, headers: { ETag: doc.ETAG, Expires: doc.EXPIRES, 'Cache-Control': doc.CACHE_CONTROL } },
        206: { description: 'The range asked for, of a 2xx result', content: { '*/*': {} }, headers: { 'Content-Range': doc.CONTENT_RANGE } },
        304: { description: 'Not modified', headers: { ETag: doc.ETAG } },
      },
      problems: ['result-not-ready', 'range-not-satisfiable', ...new Set(Object.values(JOB_FAILURE_PROBLEMS))],
    },
    {
      methods: ['POST'],
      path: '/jobs/:id/cancel',
      access: 'owner',
      summary: 'Cancel the job (aborts the upstream request)',
      handle: cancel,
      params: { id: doc.JOB_ID },
      responses: { 200: { description: 'Canceled (or already canceled): the status representation', content: { 'application/json': STATUS_REPRESENTATION_SCHEMA } } },
      problems: ['job-already-finished'],
    },
  ];
}

const RESULT_LOCATION = { description: 'The result', schema: { type: 'string', format: 'uri' } };
const EVENT_STREAM = { type: 'string', description: '`event: status` with the status representation (`id:` its version) on every change; `event: gone` when deleted' };

/** A stored response header's value (first of its name), if the upstream sent it. */
function storedHeader(job: Job, name: string): string | undefined {
  return job.response?.headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** The result's validator: the upstream's ETag if it gave one, else ours — a stored result never changes. */
function resultEtag(job: Job): string {
  return storedHeader(job, 'etag') ?? `"result-${job.id}"`;
}

/**
 * RFC 9110 §13.1.5: a Range applies only if `If-Range` (when present) still matches — a strong ETag compared
 * exactly, or the exact Last-Modified date the upstream gave. Otherwise the whole result is sent.
 */
function ifRangeHolds(condition: string | undefined, job: Job): boolean {
  if (condition === undefined) return true;
  const value = String(condition).trim();
  if (value.startsWith('"')) return value === resultEtag(job);
  return value === storedHeader(job, 'last-modified');
}
