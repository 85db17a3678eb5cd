import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import { observeRequest } from '../app/request-observer.js';
import { createRuntime, type WorkerRole } from '../app/runtime.js';
import type { Settings } from '../config/settings.js';
import type { Engine } from '../engine/engine.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { applyCors, isPreflight } from '../http/cors.js';
import { responseOnSocket, serveAsPlainRequest } from '../http/upgrade.js';
import { acceptAsync, type AcceptDeps } from '../intake/accept.js';
import { bodyCallback, callbackBodyLimit } from '../intake/body-callback.js';
import { bodyPush } from '../intake/push-wish.js';
import { readBody } from '../intake/body.js';
import { acceptKeyedSync, isKeyedSync } from '../intake/keyed-sync.js';
import { checkCallbackCount, negotiate } from '../intake/negotiate.js';
import { sendProblem } from '../resource/respond.js';
import type { JobStore } from '../store/port.js';
import type { Metrics } from '../telemetry/metrics.js';
import { noteRequest, ROUTE_NAMES } from '../telemetry/request-note.js';
import { HttpDrain, serverOptions } from './drain.js';
import { upstreamExecutor } from './executor.js';
import { messageExecutor } from './message-executor.js';
import { passThrough } from './passthrough.js';
import { qstashApi } from '../qstash/api.js';
import { createGuardedAgent } from '../delivery/guarded-agent.js';
import { createUpstreamAgent } from './upstream.js';

export interface Gateway {
  server: Server;
  engine: Engine;
  /** Its metrics' registry (a cluster's primary collects every worker's). */
  metrics: Metrics;
  store: JobStore;
  /** Where it listens, once `listen()` resolved. */
  url: string;
  listen(): Promise<string>;
  /**
   * Graceful shutdown: new requests get 503 (the listener stays open meanwhile), long polls and event streams
   * end at once, requests in flight and running jobs get `graceMs` (default --shutdown-grace) to finish; then
   * what is left is cut (requests) or handed back (jobs), the listener closes and the store is flushed.
   */
  close(graceMs?: number, beforeUnlisten?: () => Promise<void>): Promise<void>;
}

/** The largest QStash message body taken, at most (QStash's own limit on most plans is 1 MB). */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Build the gateway: store, engine, upstream client, and the HTTP server that routes between them. */
export async function createGateway(settings: Settings, log: Logger, role?: WorkerRole): Promise<Gateway> {
  const agent: Agent = createUpstreamAgent(settings.concurrency);
  // QStash messages go to destinations of their publishers' choosing: through the SSRF guard, like callbacks.
  const messageAgent = createGuardedAgent(settings.callbacks.policy, { connections: settings.concurrency });
  const runtime = await createRuntime(
    settings,
    `${settings.host}:${settings.port}`,
    ({ jobUrls, progressTokens, upstashKeys }) => {
      const upstream = upstreamExecutor(agent, settings.upstream, (job) => ({ url: jobUrls(job).progress, token: progressTokens.issue(job.id) }), settings.traceExecution);
      const messages = messageExecutor(messageAgent, upstashKeys);
      return (ctx) => (ctx.job.options.message ? messages(ctx) : upstream(ctx));
    },
    log,
    role,
  );
  const { engine, store, urls, ownerSalt } = runtime;
  // The QStash-compatible API at /v2/… (docs/qstash.md), when enabled: off by default, so proxied APIs keep every path.
  const qstash = settings.qstash.enabled
    ? qstashApi({
        engine,
        store,
        keys: runtime.upstashKeys,
        ownerSalt,
        tokens: settings.qstash.tokens,
        publish: { timeoutMs: settings.timeoutMs, retentionMs: settings.retentionMs, policy: settings.callbacks.policy },
        maxMessageBytes: Math.min(settings.maxBodyBytes, MAX_MESSAGE_BYTES),
        lookForDeliveries: runtime.lookForDeliveries,
        log,
      })
    : undefined;
  const acceptDeps: AcceptDeps = { engine, settings, urls, ownerSalt };
  const basePath = settings.upstream.pathname.replace(/\/+$/, '');
  let closing = false;
  let closed: Promise<void> | undefined;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (settings.cors) {
      applyCors(req, res);
      if (isPreflight(req)) return void res.writeHead(204).end();
    }
    if (await runtime.router.serve(req, res, url, closing)) return;
    if (qstash && (await qstash.serve(req, res))) return;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (closing) throw new AsyncgateError('shutting-down', undefined, { headers: { 'retry-after': '5', connection: 'close' } });
    const rule = settings.routes.find(req.method ?? 'GET', path);
    let neg = negotiate(req.headers, rule, settings.maxWaitMs, settings.callbacks);
    let preread: Buffer | null | undefined;
    if ((rule?.callbackBodyField || rule?.pushBodyField) && rule.async !== 'never' && /\bjson\b/i.test(req.headers['content-type'] ?? '')) {
      // Lyst's callback_url convention: the body may ask for a callback; it must be read to know. Read whole,
      // so it gets the rule's own small limit (callbackBodyMaxSize), not --max-body.
      const { limit, refuse } = callbackBodyLimit(rule, settings.maxBodyBytes);
      preread = await readBody(req, limit, refuse);
      const found = bodyCallback(preread, rule, settings.callbacks.policy);
      if (found) {
        preread = found.body;
        neg = neg.async
          ? { ...neg, callbacks: [...neg.callbacks, found.callback] }
          : { async: true, dialect: 'callback-url', waitSeconds: 0, redirectWhenDone: false, callbacks: [found.callback], applied: [] };
        checkCallbackCount(neg.callbacks.length, settings.callbacks.maxPerJob);
      }
      // `"push_notification": true` (the rule's pushBodyField): a Web Push message when done (docs/push.md).
      const wish = bodyPush(preread, rule);
      if (wish) {
        preread = wish.body;
        if (wish.push) {
          neg = neg.async
            ? { ...neg, push: true }
            : { async: true, dialect: 'callback-url', waitSeconds: 0, redirectWhenDone: false, callbacks: [], applied: [], push: true };
        }
      }
    }
    if (neg.async) return acceptAsync(req, res, neg, rule, acceptDeps, preread);
    if (isKeyedSync(req, rule)) return acceptKeyedSync(req, res, rule, acceptDeps, preread);
    const limit = rule?.maxBodySize ?? settings.maxBodyBytes;
    noteRequest(req, { route: ROUTE_NAMES.proxy });
    return passThrough(req, res, agent, settings.upstream, basePath, rule?.async !== 'never', limit, preread);
  }

  const accessLog = settings.accessLog ? log.child({ log: 'access' }) : undefined;
  const server = createServer(serverOptions(settings), (req, res) => {
    drain.track(req, res);
    observeRequest(req, res, runtime.metrics, accessLog);
    route(req, res).catch((error: unknown) => {
      if (!(error instanceof AsyncgateError)) log.error({ err: error, url: req.url }, 'request failed');
      sendProblem(res, error, req.url);
    });
  });
  const drain = new HttpDrain(server);
  // A job's WebSocket; any other upgrade request (another path or protocol) is served as a plain request.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    drain.takeOver(socket);
    runtime.router.upgrade(req, socket, head, closing).then(
      (taken) => {
        if (taken) return;
        drain.giveBack(socket);
        serveAsPlainRequest(server, req, socket, head);
      },
      (error: unknown) => {
        if (!(error instanceof AsyncgateError)) log.error({ err: error, url: req.url }, 'upgrade failed');
        sendProblem(responseOnSocket(req, socket), error, req.url);
      },
    );
  });
  // Requests node's parser rejects (malformed framing, oversized headers) still get a problem document.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy(error);
    // --headers-timeout passed: no request to answer, just say so as node would, and close.
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return void socket.end('HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const problem = new AsyncgateError(tooLarge ? 'headers-too-large' : 'malformed-request', error.message).toProblem();
    const text = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${problem.status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  });

  const gateway: Gateway = {
    server,
    engine,
    metrics: runtime.metrics,
    store,
    url: '',
    async listen() {
      await runtime.start();
      qstash?.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(settings.port, settings.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
      gateway.url = `http://${host}:${port}`;
      return gateway.url;
    },
    close(graceMs = settings.shutdownGraceMs, beforeUnlisten) {
      closed ??= (async () => {
        closing = true;
        qstash?.stop();
        const deadline = Date.now() + graceMs;
        drain.start();
        // The runtime ends long polls and event streams at once, then lets jobs run until the deadline while
        // requests in flight, pass-through ones included, get the same time.
        await Promise.all([runtime.stop(graceMs), drain.settled(deadline)]);
        // A worker of a cluster: until every worker is done, so none is handed connections after it stopped.
        await beforeUnlisten?.();
        // Only now stop listening: until here a health check got its 503 rather than a refused connection.
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        drain.cutAll();
        await stopped;
        await agent.close();
        await messageAgent.close();
        await runtime.close();
      })();
      return closed;
    },
  };
  return gateway;
}
