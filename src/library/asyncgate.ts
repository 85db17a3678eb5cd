import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../app/logger.js';
import { observeRequest } from '../app/request-observer.js';
import { createRuntime, type Runtime } from '../app/runtime.js';
import type { RouteRule } from '../config/routes.js';
import { resolveCommonSettings } from '../config/settings.js';
import type { Engine } from '../engine/engine.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { responseOnSocket } from '../http/upgrade.js';
import { acceptAsync, type AcceptDeps } from '../intake/accept.js';
import { readBody } from '../intake/body.js';
import { acceptKeyedSync, isKeyedSync } from '../intake/keyed-sync.js';
import { negotiate } from '../intake/negotiate.js';
import { sendProblem } from '../resource/respond.js';
import type { JobStore } from '../store/port.js';
import { noteRequest } from '../telemetry/request-note.js';
import { handlerExecutor } from './executor.js';
import type { AsyncHandler } from './handler.js';
import { runInline } from './inline.js';
import { parseLibraryOptions, parseRouteOptions, type AsyncgateOptions, type RouteOptions } from './options.js';

/** A request as an adapter hands it over: node's objects, plus what the framework already did to them. */
export interface AdapterInput {
  /** The body, when the framework already read or parsed it (re-encoded: JSON for objects). */
  body?: Buffer | null;
  /** The request URL when the framework rewrote `req.url` (Express routers strip their mount path). */
  url?: string;
}

/** A declared asynchronous route: call it with node's request and response (adapters do). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, input?: AdapterInput) => Promise<void>;

/** asyncgate inside an app: the engine, the routes under the prefix, and the app's asynchronous routes. */
export interface Asyncgate {
  readonly prefix: string;
  readonly engine: Engine;
  readonly store: JobStore;
  /**
   * Declare an asynchronous route. `name` is stored with each job: a restarted process runs queued jobs with
   * the handler registered under the same name, so names must be stable and unique.
   */
  route(name: string, handler: AsyncHandler, options?: RouteOptions): RouteHandler;
  /**
   * Answer a request under the prefix: monitor, result, events, cancel, callbacks, progress, health, admin.
   * false when the path is not under it, so the app routes it.
   */
  handlePrefix(req: IncomingMessage, res: ServerResponse, input?: AdapterInput): Promise<boolean>;
  /**
   * Answer an HTTP upgrade (node's `upgrade` event) for a job's WebSocket, `{prefix}/jobs/{id}/ws`: upgraded,
   * or refused with a problem (404 to anyone but the job's owner). false for any other upgrade request, which
   * the app answers (`asyncgate/node`'s `monitorUpgrades` serves it as a plain request).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean>;
  /** Begin running jobs — after every route is declared, so queued jobs find their handlers. */
  start(): Promise<void>;
  /** Stop taking work, let running handlers finish for `graceMs` (then abort them), close the store. */
  close(graceMs?: number): Promise<void>;
}

/** Open the store and build the engine. Declare routes, then `start()`. */
export async function createAsyncgate(options: AsyncgateOptions = {}): Promise<Asyncgate> {
  const { logger, ...rest } = options;
  const file = parseLibraryOptions(rest);
  const settings = resolveCommonSettings(file, {});
  const log: Logger = logger ?? createLogger(process.env.ASYNCGATE_LOG_LEVEL ?? 'warn');
  const handlers = new Map<string, AsyncHandler>();
  const runtime: Runtime = await createRuntime(settings, 'localhost', () => handlerExecutor(handlers, settings.traceExecution), log);
  const acceptDeps: AcceptDeps = { engine: runtime.engine, settings, urls: runtime.urls, ownerSalt: runtime.ownerSalt };
  let state: 'new' | 'started' | 'closing' = 'new';
  const accessLog = settings.accessLog ? log.child({ log: 'access' }) : undefined;

  return {
    prefix: settings.prefix,
    engine: runtime.engine,
    store: runtime.store,

    route(name, handler, routeOptions = {}) {
      if (handlers.has(name)) throw new Error(`asyncgate: a route named "${name}" is already declared`);
      if (state !== 'new') throw new Error('asyncgate: declare routes before start(), so queued jobs find their handlers');
      const rule = libraryRule(name, routeOptions);
      handlers.set(name, handler);
      return async (req, res, input = {}) => {
        const url = input.url ?? req.url ?? '/';
        observeRequest(req, res, runtime.metrics, accessLog);
        noteRequest(req, { route: `(handler) ${name}` });
        try {
          if (state === 'closing') throw new AsyncgateError('shutting-down', undefined, { headers: { 'retry-after': '5' } });
          const neg = negotiate(req.headers, rule, settings.maxWaitMs, settings.callbacks);
          if (neg.async) return await acceptAsync(req, res, neg, rule, acceptDeps, input.body, url);
          // A repeat must not run the handler again: a keyed request runs as a job and is answered when done.
          if (isKeyedSync(req, rule)) return await acceptKeyedSync(req, res, rule, acceptDeps, input.body, url);
          const body = input.body !== undefined ? input.body : await readBody(req, rule.maxBodySize ?? settings.maxBodyBytes);
          await runInline(req, res, handler, { url, body, timeoutMs: rule.timeout ?? settings.timeoutMs }, log);
        } catch (error) {
          if (!(error instanceof AsyncgateError)) log.error({ err: error, url }, 'request failed');
          sendProblem(res, error, url);
        }
      };
    },

    async handlePrefix(req, res, input = {}) {
      const url = input.url ?? req.url ?? '/';
      const q = url.indexOf('?');
      if (runtime.router.relative(q === -1 ? url : url.slice(0, q)) !== undefined) observeRequest(req, res, runtime.metrics, accessLog);
      try {
        return await runtime.router.serve(req, res, url, state === 'closing');
      } catch (error) {
        if (!(error instanceof AsyncgateError)) log.error({ err: error, url }, 'request failed');
        sendProblem(res, error, url);
        return true;
      }
    },

    async handleUpgrade(req, socket, head) {
      try {
        return await runtime.router.upgrade(req, socket, head, state === 'closing');
      } catch (error) {
        if (!(error instanceof AsyncgateError)) log.error({ err: error, url: req.url }, 'upgrade failed');
        sendProblem(responseOnSocket(req, socket), error, req.url);
        return true;
      }
    },

    async start() {
      if (state !== 'new') return;
      state = 'started';
      await runtime.start();
    },

    async close(graceMs = 10_000) {
      if (state === 'closing') return;
      const wasStarted = state === 'started';
      state = 'closing';
      if (wasStarted) await runtime.stop(graceMs);
      await runtime.close();
    },
  };
}

/** A route's options as the route rule the gateway's negotiation and accept code already understand. */
function libraryRule(name: string, options: RouteOptions): RouteRule {
  const rule = parseRouteOptions(name, options);
  // A handler that throws is not re-run unless the route asks for retries (BullMQ's default is one attempt too).
  return { ...rule, name, retry: rule.retry ?? { attempts: 1, unsafe: false } };
}
