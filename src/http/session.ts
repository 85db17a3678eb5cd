import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The two ways into the admin side: `admin` may change things, `viewer` may only look. */
export type Role = 'admin' | 'viewer';

export const SESSION_COOKIE = 'asyncgate_session';
/** How long a dashboard sign-in lasts. */
export const SESSION_MS = 12 * 3600_000;

/**
 * Dashboard sessions: a cookie `role.expiry.mac`, where the MAC (HMAC-SHA256 under a key kept in the store, so
 * every process accepts every other's cookies) covers the role, the expiry and the token it was made from.
 * Nothing is stored per session; changing a token ends every session made with it, and a cookie cannot be
 * moved to the other role or past its expiry without the key.
 */
export class Sessions {
  constructor(
    private readonly key: string,
    private readonly tokens: Readonly<Partial<Record<Role, string>>>,
  ) {}

  /** The cookie value for a sign-in as `role`, valid until `now + SESSION_MS`. */
  issue(role: Role, now = Date.now()): string {
    const token = this.tokens[role];
    if (token === undefined) throw new Error(`no ${role} token is configured`);
    const expires = now + SESSION_MS;
    return `${role}.${expires}.${this.mac(role, expires, token)}`;
  }

  /** The role a cookie value grants, or undefined if it is forged, expired, or its token has changed. */
  verify(value: string, now = Date.now()): Role | undefined {
    const m = /^(admin|viewer)\.(\d{13,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return undefined;
    const role = m[1] as Role;
    const expires = Number(m[2]);
    const token = this.tokens[role];
    if (token === undefined || expires <= now) return undefined;
    const given = Buffer.from(m[3]!);
    const expected = Buffer.from(this.mac(role, expires, token));
    return given.length === expected.length && timingSafeEqual(given, expected) ? role : undefined;
  }

  private mac(role: Role, expires: number, token: string): string {
    return createHmac('sha256', this.key).update(`asyncgate-session\n${role}\n${expires}\n${token}`).digest('base64url');
  }
}

/** The session cookie's value in a `Cookie` header (RFC 6265 §5.4), if any. */
export function sessionCookie(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === SESSION_COOKIE) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** `Set-Cookie` for a session (or, with value '' and maxAgeMs 0, its removal): HttpOnly, SameSite=Strict. */
export function sessionSetCookie(value: string, options: { path: string; secure: boolean; maxAgeMs: number }): string {
  const parts = [`${SESSION_COOKIE}=${value}`, `Path=${options.path}`, `Max-Age=${Math.floor(options.maxAgeMs / 1000)}`, 'HttpOnly', 'SameSite=Strict'];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

const UNSAFE = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/**
 * The CSRF rule for requests a browser authenticates by itself (a cookie): a state-changing one must say it
 * comes from this very origin, by `Origin` (sent by every current browser on a POST), else by
 * `Sec-Fetch-Site: same-origin`. SameSite=Strict already keeps the cookie off cross-site requests; this is
 * the second lock, for browsers or proxies that get SameSite wrong. Returns why it is refused, or undefined.
 */
export function crossSiteRefusal(req: IncomingMessage, ownOrigins: readonly string[]): string | undefined {
  if (!UNSAFE.has(req.method ?? 'GET')) return undefined;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (ownOrigins.includes(origin.toLowerCase())) return undefined;
    return `a cross-site request was refused: Origin ${origin} is not this server's (${ownOrigins[0]})`;
  }
  if (req.headers['sec-fetch-site'] === 'same-origin') return undefined;
  return 'a cross-site request was refused: a request signed in by cookie must carry Origin (or Sec-Fetch-Site: same-origin)';
}
