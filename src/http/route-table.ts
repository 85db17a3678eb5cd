import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { match as compilePath, type MatchFunction } from 'path-to-regexp';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { ProblemType } from '../errors/codes.js';
import { jobTraceId } from '../engine/job-trace.js';
import type { Job } from '../model.js';
import { noteRequest, ROUTE_NAMES } from '../telemetry/request-note.js';
import type { FieldDoc, JsonSchema } from '../shared/json-schema.js';

/**
 * Who may call a route under the prefix. The router checks it before the handler runs:
 * - `owner`: the credentials that submitted the job named by `:id` (anyone else gets 404, as for no job);
 * - `upstream`: the job's progress token, which only the upstream request carried;
 * - `admin`: the admin token (the admin API answers 404 while none is configured): may change things;
 * - `viewer`: the admin or the viewer token: may look at everything, change nothing;
 * - `public`: anyone.
 */
export const ACCESS = ['owner', 'upstream', 'admin', 'viewer', 'public'] as const;
export type Access = (typeof ACCESS)[number];

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** What a handler gets: the request, the response, the path parameters, the query. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The process is draining (health answers 503). */
  stopping: boolean;
}

/** A job route's context: the job, already loaded and checked against the caller's credentials. */
export interface JobContext extends RouteContext {
  job: Job;
}

/** An upgrade's context (node's `upgrade` event): the request, its socket and the bytes read past its head. */
export interface UpgradeContext {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  params: Record<string, string>;
  query: URLSearchParams;
  stopping: boolean;
}

/** A job route's upgrade context: the job, already loaded and checked against the caller's credentials. */
export interface JobUpgradeContext extends UpgradeContext {
  job: Job;
}

/** One answer of a route, for the OpenAPI document (its problems are listed apart, in `problems`). */
export interface RouteResponse {
  description: string;
  /** Media type → the body's schema; absent: no body. */
  content?: Readonly<Record<string, JsonSchema>>;
  /** Response headers it sets. */
  headers?: Readonly<Record<string, FieldDoc>>;
}

/** The request body a route reads: one media type, with an example (which the OpenAPI test sends). */
export interface RouteBody {
  mediaType: string;
  schema: JsonSchema;
  example: unknown;
  description?: string;
}

/** What the OpenAPI document says of a route beyond its method, path and access (http/openapi.ts). */
export interface RouteDoc {
  /** More than the summary's line. */
  description?: string;
  /** Every `:name` of the path, described. */
  params?: Readonly<Record<string, FieldDoc>>;
  /** The query parameters it reads. */
  query?: Readonly<Record<string, FieldDoc>>;
  /** The request headers it reads (credentials aside: those follow from `access`). */
  headers?: Readonly<Record<string, FieldDoc>>;
  body?: RouteBody;
  /** Its answers by status, problems aside. */
  responses?: Readonly<Record<number, RouteResponse>>;
  /** The problem types it may answer besides those of its access check. */
  problems?: readonly ProblemType[];
}

interface RouteFields extends RouteDoc {
  methods: readonly Method[];
  /** Relative to the prefix, in path-to-regexp syntax: `/jobs/:id/result`. */
  path: string;
  /** One line for the endpoint reference and the OpenAPI document. */
  summary: string;
  /** Answer a caller the `admin` / `viewer` check refused, instead of the problem (a page: its sign-in). */
  denied?(ctx: RouteContext, refusal: AsyncgateError): Promise<void>;
}

/** One row of the table of everything under the prefix. */
export type PrefixRoute =
  | (RouteFields & {
      access: 'owner';
      handle(ctx: JobContext): Promise<void>;
      /** Take over a WebSocket handshake on this path (`PrefixRouter.upgrade`); `handle` answers a plain GET. */
      upgrade?(ctx: JobUpgradeContext): Promise<void>;
    })
  | (RouteFields & { access: Exclude<Access, 'owner'>; handle(ctx: RouteContext): Promise<void> });

/** The checks behind each kind of access (http/access.ts builds them). Each throws the problem to answer. */
export interface AccessGates {
  /** The job `id` if the caller's credentials submitted it; 404/410 otherwise. */
  owner(req: IncomingMessage, id: string): Promise<Job>;
  /** Passes when the request carries job `id`'s progress token. */
  upstream(req: IncomingMessage, id: string): void;
  /** Passes when the request carries the admin token. */
  admin(req: IncomingMessage): void;
  /** Passes when the request carries the admin or the viewer token (read-only access). */
  viewer(req: IncomingMessage): void;
}

interface CompiledRoute {
  route: PrefixRoute;
  match: MatchFunction<Partial<Record<string, string>>>;
  /** The route's template with the prefix (`/_async/jobs/:id`): its name in metrics and the access log. */
  template: string;
}

/** A path parameter as sent; one that is not valid percent-encoding matches nothing. */
function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new NotEncoded();
  }
}
class NotEncoded extends Error {}

/** Note the route a request matched, and the job its `:id` names (metrics and the access log). */
function noteRoute(req: object, template: string, params: Record<string, string>): void {
  noteRequest(req, params.id !== undefined ? { route: template, jobId: params.id } : { route: template });
}

/**
 * Every route under the prefix, as data: the gateway and library mode mount the same table. First row whose
 * path and method match wins; a path that matches with another method is `405` with `Allow`; a path under
 * the prefix that matches no row is `404`.
 */
export class PrefixRouter {
  private readonly compiled: CompiledRoute[];

  constructor(
    readonly prefix: string,
    readonly routes: readonly PrefixRoute[],
    private readonly gates: AccessGates,
  ) {
    this.compiled = routes.map((route) => ({ route, match: compilePath<Partial<Record<string, string>>>(route.path, { decode }), template: prefix + route.path }));
  }

  /** The path after the prefix when `path` is under it (`''` for the prefix itself), else undefined. */
  relative(path: string): string | undefined {
    if (path === this.prefix) return '';
    return path.startsWith(this.prefix + '/') ? path.slice(this.prefix.length) : undefined;
  }

  /**
   * Answer `url` (path and query) if it is under the prefix: false when it is not, so the caller routes it
   * elsewhere. Throws the problem to answer (404, 405, or a handler's).
   */
  async serve(req: IncomingMessage, res: ServerResponse, url: string, stopping: boolean): Promise<boolean> {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const rest = this.relative(path);
    if (rest === undefined) return false;
    const method = req.method ?? 'GET';
    let allow: Method[] | undefined;
    for (const { route, match, template } of this.compiled) {
      const found = this.matchPath(match, rest);
      if (!found) continue;
      if (!route.methods.includes(method as Method)) {
        allow = [...(allow ?? []), ...route.methods.filter((m) => !allow?.includes(m))];
        continue;
      }
      noteRoute(req, template, found);
      const ctx: RouteContext = { req, res, params: found, query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)), stopping };
      await this.run(route, ctx);
      return true;
    }
    noteRequest(req, { route: ROUTE_NAMES.unmatched });
    if (allow) throw new AsyncgateError('method-not-allowed', `use ${allow.join(' or ')}`, { headers: { allow: allow.join(', ') } });
    throw new AsyncgateError('not-found', `no asyncgate endpoint at ${path}`);
  }

  /**
   * Take over a WebSocket handshake (node's `upgrade` event) for a row with an `upgrade` handler: its access
   * check first, so a refused caller gets the problem (thrown, to answer as plain HTTP) and no upgrade. false
   * for any other upgrade request (another protocol, another path), which the caller serves as a plain request.
   */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, stopping: boolean): Promise<boolean> {
    if (req.method !== 'GET' || !/^websocket$/i.test(req.headers.upgrade ?? '')) return false;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rest = this.relative(q === -1 ? url : url.slice(0, q));
    if (rest === undefined) return false;
    for (const { route, match, template } of this.compiled) {
      if (route.access !== 'owner' || !route.upgrade) continue;
      const found = this.matchPath(match, rest);
      if (!found) continue;
      noteRoute(req, template, found);
      const job = await this.gates.owner(req, found.id ?? '');
      const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
      await route.upgrade({ req, socket, head, params: found, query, stopping, job });
      return true;
    }
    return false;
  }

  private matchPath(match: CompiledRoute['match'], rest: string): Record<string, string> | undefined {
    try {
      const found = match(rest);
      return found ? (found.params as Record<string, string>) : undefined;
    } catch (error) {
      if (error instanceof NotEncoded) return undefined;
      throw error;
    }
  }

  private async run(route: PrefixRoute, ctx: RouteContext): Promise<void> {
    switch (route.access) {
      case 'owner': {
        const job = await this.gates.owner(ctx.req, ctx.params.id ?? '');
        const traceId = jobTraceId(job);
        if (traceId) noteRequest(ctx.req, { traceId });
        return route.handle({ ...ctx, job });
      }
      case 'upstream':
        this.gates.upstream(ctx.req, ctx.params.id ?? '');
        return route.handle(ctx);
      case 'admin':
      case 'viewer':
        try {
          this.gates[route.access](ctx.req);
        } catch (error) {
          if (route.denied && error instanceof AsyncgateError) return route.denied(ctx, error);
          throw error;
        }
        return route.handle(ctx);
      case 'public':
        return route.handle(ctx);
    }
  }
}
