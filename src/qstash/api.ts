import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { UpstashKeys } from '../delivery/upstash-signature.js';
import type { Engine } from '../engine/engine.js';
import { credentialOwner } from '../engine/owner.js';
import { readBody, tooLarge } from '../intake/body.js';
import type { JobStore } from '../store/port.js';
import { noteRequest } from '../telemetry/request-note.js';
import { invalidMessage, sendQstashProblem } from './answer.js';
import { messageRoutes } from './message-routes.js';
import { publishRoutes } from './publish-routes.js';
import type { PublishSettings } from './publish.js';
import { Publisher } from './publisher.js';
import { queueRoutes } from './queue-routes.js';
import { scheduleRoutes } from './schedule-routes.js';
import { Scheduler } from './scheduler.js';
import { urlGroupRoutes } from './url-group-routes.js';

/** What the QStash-compatible API runs on: the runtime's engine and store, and its own settings. */
export interface QstashDeps {
  engine: Engine;
  store: JobStore;
  keys: UpstashKeys;
  ownerSalt: string;
  /** The bearer tokens it accepts; each is an owner. */
  tokens: readonly string[];
  publish: PublishSettings;
  /** The largest message body taken (QStash's limit is 1 MB on most plans). */
  maxMessageBytes: number;
  /** Callbacks were made due (a message retried from the DLQ): look for them now. */
  lookForDeliveries(): void;
  log: Logger;
}

/** One call of the API, authenticated. */
export interface QstashCall {
  req: IncomingMessage;
  res: ServerResponse;
  /** The path's parts after `/v2/` (the destination of a publish is the rest of the path, query included). */
  params: string[];
  query: URLSearchParams;
  owner: string | null;
  /** The body, read whole up to the message limit. */
  body(): Promise<Buffer | null>;
}

export interface QstashRoute {
  method: string;
  /** Matched against the path after `/v2/` (without the query, except for routes that take a destination). */
  path: RegExp;
  /** The destination is part of the path and keeps the query string: match against the raw request target. */
  raw?: boolean;
  /** The metrics' route label. */
  name: string;
  handle(call: QstashCall): Promise<void>;
}

const PREFIX = '/v2/';

/**
 * The QStash v2 API (docs/qstash.md), served at `/v2/…` when enabled: publish, batch, messages, the DLQ, logs and
 * signing keys, over the same store, engine, retries, leases, DLQ and SSRF guard as every other job. Every call
 * needs `Authorization: Bearer <token>` with one of the configured tokens; the token is the owner (the same hash
 * the native dialects bind a job to), so tokens never see each other's messages. Answers are JSON; errors are
 * problem documents with QStash's `error` member. Returns false for a path it does not serve.
 */
export interface QstashApi {
  /** Serve a request under /v2/; false when the path is not one. */
  serve(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Start and stop firing schedules. */
  start(): void;
  stop(): void;
}

export function qstashApi(deps: QstashDeps): QstashApi {
  const publisher = new Publisher(deps);
  const scheduler = new Scheduler(deps.store.messaging, publisher, deps.log);
  const routes: QstashRoute[] = [
    ...publishRoutes(publisher),
    ...messageRoutes(deps),
    ...queueRoutes(deps),
    ...urlGroupRoutes(deps),
    ...scheduleRoutes(deps, publisher),
  ];
  const digests = deps.tokens.map(digest);
  const known = (token: string) => {
    const d = digest(token);
    let ok = false;
    for (const t of digests) ok = timingSafeEqual(t, d) || ok; // every token compared: no early exit to time
    return ok;
  };
  return {
    async serve(req, res) {
      const target = req.url ?? '/';
      if (!target.startsWith(PREFIX)) return false;
      try {
        await serve(req, res, target);
      } catch (error) {
        if (!(error instanceof AsyncgateError)) deps.log.error({ err: error, url: target.slice(0, 200) }, 'QStash API request failed');
        sendQstashProblem(res, error);
      }
      return true;
    },
    start: () => scheduler.start(),
    stop: () => scheduler.stop(),
  };

  async function serve(req: IncomingMessage, res: ServerResponse, target: string): Promise<void> {
    const q = target.indexOf('?');
    const path = (q === -1 ? target : target.slice(0, q)).slice(PREFIX.length);
    const rest = target.slice(PREFIX.length);
    const method = req.method ?? 'GET';
    let route: QstashRoute | undefined;
    let m: RegExpExecArray | null = null;
    let pathMatched = false;
    for (const r of routes) {
      const found = r.path.exec(r.raw ? rest : path);
      if (!found) continue;
      pathMatched = true;
      if (r.method === method) {
        route = r;
        m = found;
        break;
      }
    }
    noteRequest(req, { route: route ? `qstash ${route.name}` : 'qstash' });
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
    if (!token || !known(token)) {
      req.resume();
      throw new AsyncgateError('qstash-token-required', 'send one of the QStash tokens asyncgate was started with (--qstash-token) as Authorization: Bearer <token>', {
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    if (!route || !m) {
      req.resume();
      if (pathMatched) throw new AsyncgateError('method-not-allowed', `${method} is not allowed on /v2/${path}`);
      throw new AsyncgateError('not-supported', `asyncgate's QStash API has no /v2/${path.split('/')[0]} (see docs/qstash.md#compatibility)`);
    }
    const query = new URLSearchParams(q === -1 || route.raw ? '' : target.slice(q + 1));
    const owner = credentialOwner(req.headers, deps.ownerSalt, 'authorization');
    await route.handle({
      req,
      res,
      params: m.slice(1).map((p) => (route!.raw ? p : decoded(p))),
      query,
      owner,
      body: () => readBody(req, deps.maxMessageBytes, () => tooLarge(deps.maxMessageBytes, `a message may have at most ${deps.maxMessageBytes} bytes`)),
    });
  }
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalidMessage(`${JSON.stringify(part.slice(0, 40))} is not valid percent-encoding`);
  }
}

const digest = (token: string) => createHash('sha256').update(token).digest();
