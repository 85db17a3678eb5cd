import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { AdminAccess } from '../http/admin-access.js';
import { DELIVERY_ID, JOB_ID } from '../http/openapi-components.js';
import type { PrefixRoute, RouteContext, RouteResponse } from '../http/route-table.js';
import { crossSiteRefusal, SESSION_COOKIE, SESSION_MS, sessionSetCookie } from '../http/session.js';
import type { FieldDoc } from '../shared/json-schema.js';
import { readBody } from '../intake/body.js';
import { SCRIPT } from './assets/script.js';
import { STYLE } from './assets/style.js';
import type { Html } from './html.js';
import { page, plainPage, type PageFrame, type Section } from './layout.js';
import { deliveriesBody, deliveryBody, errorBody, jobBody, jobsBody, offBody, overviewBody, signInBody } from './pages.js';

const ASSETS: Record<string, { type: string; body: Buffer }> = {
  'console.css': { type: 'text/css; charset=utf-8', body: Buffer.from(STYLE) },
  'console.js': { type: 'text/javascript; charset=utf-8', body: Buffer.from(SCRIPT) },
};
const ASSETS_VERSION = createHash('sha256').update(STYLE).update(SCRIPT).digest('base64url').slice(0, 10);

/** Scripts and styles only from here, data only from here, no framing: a page can do nothing it was not built to. */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

// For the OpenAPI document: pages answer HTML, also when the caller may not see them.
const HTML_PAGE: RouteResponse = { description: 'The page', content: { 'text/html': {} } };
const OFF_PAGE: RouteResponse = { description: 'The dashboard is off (no token configured): a page saying how to turn it on', content: { 'text/html': {} } };
const PAGE_RESPONSES: Readonly<Record<number, RouteResponse>> = {
  200: HTML_PAGE,
  303: { description: 'Not signed in: to the sign-in form, coming back after' },
  403: { description: 'Not allowed: a page saying why', content: { 'text/html': {} } },
  404: OFF_PAGE,
};
const NEXT: FieldDoc = { description: 'The dashboard page to go to after signing in', schema: { type: 'string' } };
const SESSION_SET: FieldDoc = { description: `${SESSION_COOKIE}: HttpOnly, SameSite=Strict, Secure over https`, schema: { type: 'string' } };
const SIGN_IN_FORM = { type: 'object', required: ['token'], properties: { token: { type: 'string' }, next: NEXT.schema } };

/** A sign-in form is a few hundred bytes; anything much larger is not one. */
const SIGN_IN_MAX_BYTES = 16 * 1024;

export interface DashboardOptions {
  prefix: string;
  access: AdminAccess;
}

/**
 * The dashboard: server-rendered pages under `{prefix}/dashboard` whose small script reads (and, for an
 * admin, acts through) the admin API with the session cookie. Pages are `viewer` access: a caller who is not
 * signed in is sent to the sign-in form; with no token configured at all, every page is a 404 that says how
 * to turn the dashboard on.
 */
export function dashboardRoutes({ prefix, access }: DashboardOptions): PrefixRoute[] {
  const dash = `${prefix}/dashboard`;

  function send(ctx: RouteContext, status: number, text: string, headers: Record<string, string> = {}): Promise<void> {
    const body = Buffer.from(text);
    ctx.res.writeHead(status, { ...PAGE_HEADERS, 'content-length': body.length, ...headers });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
    return Promise.resolve();
  }

  const plain = (ctx: RouteContext, status: number, title: string, body: Html, headers?: Record<string, string>) =>
    send(ctx, status, plainPage(prefix, title, ASSETS_VERSION, body), headers);

  /** Not signed in: to the sign-in form, coming back here after. Off: how to turn it on. */
  function denied(ctx: RouteContext, refusal: AsyncgateError): Promise<void> {
    if (refusal.type === 'not-found') return plain(ctx, 404, 'Dashboard off', offBody());
    if (refusal.type === 'unauthorized') {
      ctx.res.writeHead(303, { location: `${dash}/sign-in?${new URLSearchParams({ next: ctx.req.url ?? dash })}`, 'cache-control': 'no-store', 'content-length': 0 });
      ctx.res.end();
      return Promise.resolve();
    }
    return plain(ctx, refusal.status, 'Not allowed', errorBody('Not allowed', refusal.detail ?? refusal.message, dash));
  }

  function view(path: string, section: Section, title: (ctx: RouteContext) => string, pageName: string, body: (ctx: RouteContext, admin: boolean) => Html, data?: (ctx: RouteContext) => Record<string, string>): PrefixRoute {
    return {
      methods: ['GET', 'HEAD'],
      path,
      access: 'viewer',
      summary: `Dashboard: ${pageName}`,
      denied,
      ...(path.includes(':id') ? { params: { id: path.startsWith('/dashboard/jobs') ? JOB_ID : DELIVERY_ID } } : {}),
      ...(path === '/dashboard/jobs' || path === '/dashboard/deliveries' ? { description: 'The query holds the filters, as the admin API takes them' } : {}),
      responses: PAGE_RESPONSES,
      handle(ctx) {
        const { role } = access.identify(ctx.req);
        const frame: PageFrame = { prefix, role, title: title(ctx), page: pageName, section, assets: ASSETS_VERSION, ...(data ? { data: data(ctx) } : {}) };
        return send(ctx, 200, page(frame, body(ctx, role === 'admin')));
      },
    };
  }

  /** Sign-in and sign-out change what the browser holds: same CSRF rule as the API's cookie requests. */
  function checkSameOrigin(ctx: RouteContext): void {
    if (!access.enabled) throw new AsyncgateError('not-found', 'the dashboard is off: start asyncgate with --admin-token or --viewer-token');
    const refusal = crossSiteRefusal(ctx.req, access.ownOrigins(ctx.req));
    if (refusal) throw new AsyncgateError('forbidden', refusal);
  }

  /** Where to go after signing in: only a page of the dashboard (never another site). */
  function nextPage(value: string | null | undefined): string {
    if (!value || !value.startsWith(dash) || /[\\\s]/.test(value)) return dash;
    const rest = value.slice(dash.length);
    return rest === '' || rest.startsWith('/') || rest.startsWith('?') ? value : dash;
  }

  async function signIn(ctx: RouteContext): Promise<void> {
    checkSameOrigin(ctx);
    const body = await readBody(ctx.req, SIGN_IN_MAX_BYTES, () => new AsyncgateError('body-too-large', 'a sign-in form is at most 16 KiB'));
    const form = new URLSearchParams(body?.toString('utf8') ?? '');
    const next = nextPage(form.get('next'));
    const role = access.roleOf(form.get('token') ?? '');
    if (!role) return plain(ctx, 401, 'Sign in', signInBody(dash, next, 'That is neither the admin nor the viewer token.'));
    const cookie = sessionSetCookie(access.sessions.issue(role), { path: prefix, secure: access.secure(ctx.req), maxAgeMs: SESSION_MS });
    ctx.res.writeHead(303, { location: next, 'set-cookie': cookie, 'cache-control': 'no-store', 'content-length': 0 });
    ctx.res.end();
  }

  async function signOut(ctx: RouteContext): Promise<void> {
    checkSameOrigin(ctx);
    const cookie = sessionSetCookie('', { path: prefix, secure: access.secure(ctx.req), maxAgeMs: 0 });
    ctx.res.writeHead(303, { location: `${dash}/sign-in`, 'set-cookie': cookie, 'cache-control': 'no-store', 'content-length': 0 });
    ctx.res.end();
  }

  const id = (ctx: RouteContext) => ctx.params.id ?? '';

  return [
    view('/dashboard', 'overview', () => 'Overview', 'overview', () => overviewBody()),
    view('/dashboard/jobs', 'jobs', () => 'Jobs', 'jobs', (ctx, admin) => jobsBody(ctx.query, admin)),
    view('/dashboard/jobs/:id', 'jobs', (ctx) => `Job ${id(ctx)}`, 'job', (ctx, admin) => jobBody(id(ctx), admin), (ctx) => ({ id: id(ctx) })),
    view('/dashboard/deliveries', 'deliveries', () => 'Deliveries', 'deliveries', (ctx, admin) => deliveriesBody(ctx.query, admin)),
    view('/dashboard/deliveries/:id', 'deliveries', (ctx) => `Delivery ${id(ctx)}`, 'delivery', (ctx, admin) => deliveryBody(id(ctx), admin), (ctx) => ({ id: id(ctx) })),
    {
      methods: ['GET', 'HEAD'],
      path: '/dashboard/sign-in',
      access: 'public',
      summary: 'Dashboard: the sign-in form',
      query: { next: NEXT },
      responses: { 200: HTML_PAGE, 404: OFF_PAGE },
      handle: (ctx) => (access.enabled ? plain(ctx, 200, 'Sign in', signInBody(dash, nextPage(ctx.query.get('next')), undefined)) : plain(ctx, 404, 'Dashboard off', offBody())),
    },
    {
      methods: ['POST'],
      path: '/dashboard/sign-in',
      access: 'public',
      summary: 'Dashboard: sign in with a token (sets the session cookie)',
      handle: signIn,
      body: { mediaType: 'application/x-www-form-urlencoded', schema: SIGN_IN_FORM, example: { token: 'the admin or viewer token', next: `${dash}/jobs` } },
      responses: { 303: { description: 'Signed in: the session cookie, and on to `next`', headers: { 'Set-Cookie': SESSION_SET } }, 401: { ...HTML_PAGE, description: 'Not a token: the form again' } },
      problems: ['forbidden', 'not-found', 'body-too-large'],
    },
    {
      methods: ['POST'],
      path: '/dashboard/sign-out',
      access: 'public',
      summary: 'Dashboard: sign out (clears the session cookie)',
      handle: signOut,
      responses: { 303: { description: 'Signed out: on to the sign-in form', headers: { 'Set-Cookie': SESSION_SET } } },
      problems: ['forbidden', 'not-found'],
    },
    {
      methods: ['GET', 'HEAD'],
      path: '/dashboard/assets/:file',
      access: 'public',
      summary: 'Dashboard: its stylesheet and script',
      params: { file: { description: 'The asset', schema: { type: 'string', enum: Object.keys(ASSETS) } } },
      responses: { 200: { description: 'The asset (its URL changes with each release)', content: { 'text/css': {}, 'text/javascript': {} } } },
      problems: ['not-found'],
      handle: async ({ req, res, params }) => serveAsset(res, params.file ?? '', req.method === 'HEAD'),
    },
  ];
}

function serveAsset(res: ServerResponse, file: string, head: boolean): void {
  const asset = ASSETS[file];
  if (!asset) throw new AsyncgateError('not-found', `no dashboard asset ${file}`);
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': asset.body.length,
    // The pages name them with ?v=<hash of both>: a new release is a new URL.
    'cache-control': 'public, max-age=86400',
    'x-content-type-options': 'nosniff',
  });
  res.end(head ? undefined : asset.body);
}
