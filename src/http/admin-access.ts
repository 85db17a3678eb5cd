import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { requestOrigin } from '../protocol/forwarded.js';
import { requestProto, type UrlBuilder } from '../resource/urls.js';
import { crossSiteRefusal, sessionCookie, Sessions, type Role } from './session.js';

/** Who is calling the admin side, and how they proved it. */
export interface AdminCaller {
  role: Role;
  /** `bearer`: `Authorization: Bearer <token>`; `session`: the dashboard's cookie (CSRF-checked). */
  by: 'bearer' | 'session';
}

export interface AdminAccessOptions {
  adminToken: string | undefined;
  viewerToken: string | undefined;
  /** The key that signs dashboard sessions (kept in the store: every process shares it). */
  sessionKey: string;
  urls: UrlBuilder;
  /** Names this server when a request has no Host. */
  fallbackHost: string;
}

/**
 * The admin side's credentials: the admin token (may change things), the viewer token (may only read), and the
 * dashboard sessions made from either. Behind the route table's `admin` and `viewer` access and the dashboard.
 */
export class AdminAccess {
  readonly sessions: Sessions;
  private readonly tokens: Array<[Role, Buffer]> = [];

  constructor(private readonly options: AdminAccessOptions) {
    const { adminToken, viewerToken } = options;
    if (adminToken) this.tokens.push(['admin', Buffer.from(adminToken)]);
    if (viewerToken) this.tokens.push(['viewer', Buffer.from(viewerToken)]);
    this.sessions = new Sessions(options.sessionKey, { ...(adminToken ? { admin: adminToken } : {}), ...(viewerToken ? { viewer: viewerToken } : {}) });
  }

  /** Is any token configured? Without one the admin API and the dashboard are off (404). */
  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** The role a token grants, compared in constant time. */
  roleOf(token: string): Role | undefined {
    const given = Buffer.from(token);
    let found: Role | undefined;
    for (const [role, expected] of this.tokens) {
      if (given.length === expected.length && timingSafeEqual(given, expected)) found = role;
    }
    return found;
  }

  /**
   * The caller, or the problem to answer: `404` while the admin side is off, `401` without valid credentials,
   * `403 forbidden` for a cookie-authenticated state change from another origin. Bearer requests are not
   * CSRF-checked: a browser never adds that header on its own.
   */
  identify(req: IncomingMessage): AdminCaller {
    if (!this.enabled) throw new AsyncgateError('not-found', 'the admin API is off: start asyncgate with --admin-token (or --viewer-token to only read)');
    const header = req.headers.authorization;
    if (header !== undefined) {
      const role = header.startsWith('Bearer ') ? this.roleOf(header.slice(7)) : undefined;
      if (!role) throw unauthorized('the token is not the admin or the viewer token');
      return { role, by: 'bearer' };
    }
    const cookie = sessionCookie(req);
    const role = cookie === undefined ? undefined : this.sessions.verify(cookie);
    if (!role) throw unauthorized(cookie === undefined ? undefined : 'the dashboard session has expired or was signed out: sign in again');
    const refusal = crossSiteRefusal(req, this.ownOrigins(req));
    if (refusal) throw new AsyncgateError('forbidden', refusal);
    return { role, by: 'session' };
  }

  /** The caller if it may change things; a viewer gets `403 forbidden`. */
  requireAdmin(req: IncomingMessage): AdminCaller {
    const caller = this.identify(req);
    if (caller.role !== 'admin') throw new AsyncgateError('forbidden', 'the viewer token may only read: this needs the admin token');
    return caller;
  }

  /** The origins a same-origin request may name: the public URL's, and the one the request was addressed to. */
  ownOrigins(req: IncomingMessage): string[] {
    const configured = originOf(this.options.urls.origin(req));
    const addressed = originOf(requestOrigin(req.headers, requestProto(req), this.options.fallbackHost));
    return configured === addressed ? [configured] : [configured, addressed];
  }

  /** Should a cookie set for this request be `Secure`? When the client reached us over https. */
  secure(req: IncomingMessage): boolean {
    return requestProto(req) === 'https' || this.options.urls.origin(req).startsWith('https:');
  }
}

/** An origin as browsers serialise it in `Origin` (RFC 6454 §6.1): lower case, no default port. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url.toLowerCase();
  }
}

function unauthorized(detail = 'send Authorization: Bearer <admin or viewer token>, or sign in to the dashboard'): AsyncgateError {
  return new AsyncgateError('unauthorized', detail, { headers: { 'www-authenticate': 'Bearer realm="asyncgate admin"' } });
}
