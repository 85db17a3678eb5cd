/**
 * The headers that ask for an asynchronous answer: `Prefer: respond-async` (RFC 7240), optionally
 * `wait=N`, and the callback dialects — Response Redirection's `Callback`, Fedora's `Accept-Asynchronous: notify` +
 * `Asynchronous-end-point`, OData's `Prefer: callback; url="…"`.
 */
import { callbackUrl } from '../protocol/callback.js';
import { formatLink } from '../protocol/link.js';
import { parsePrefer } from '../protocol/prefer.js';

/** The delivery modes a request can ask for in headers (a `status` summary is asked for in a JSON body). */
export const CALLBACK_MODES = ['response', 'notify', 'ping'] as const;
export type CallbackMode = (typeof CALLBACK_MODES)[number];

/** Where asyncgate (or any server speaking these dialects) should deliver the result. */
export interface CallbackOption {
  url: string | URL;
  /**
   * What is sent: `response` (default; the upstream's response itself, via `Callback`), `notify` (the status
   * representation, via `Accept-Asynchronous: notify`), `ping` (a bodiless GET, via OData's `Prefer: callback`).
   */
  mode?: CallbackMode;
  /** `response` mode only: POST (default) or PUT. */
  method?: 'POST' | 'PUT';
  /** `response` mode only: the HMAC key of an extra `v1` signature (raw text, or `whsec_` + base64). */
  secret?: string;
}

/** Add asyncgate's request headers to `headers` (in place). Throws TypeError on an unusable callback option. */
export function askForAsync(headers: Headers, preferWait: number | undefined, callbacks: readonly CallbackOption[]): void {
  const prefer: string[] = [];
  let existing: ReadonlyMap<string, unknown>;
  try {
    existing = parsePrefer(headers.get('prefer') ?? undefined);
  } catch {
    throw new TypeError(`the request's Prefer header is malformed: ${headers.get('prefer')}`);
  }
  // A request that already names Fedora's dialect (`Accept-Asynchronous: polling`) keeps it: with Prefer too,
  // the server would follow the Prefer rules instead (docs/dialects.md).
  if (!existing.has('respond-async') && !headers.has('accept-asynchronous')) prefer.push('respond-async');
  if (preferWait !== undefined && !existing.has('wait')) {
    if (!Number.isInteger(preferWait) || preferWait < 0) throw new TypeError('preferWait must be whole seconds >= 0');
    prefer.push(`wait=${preferWait}`);
  }
  const links: string[] = [];
  let notify: string | undefined;
  for (const callback of callbacks) {
    const url = checkedUrl(callback.url);
    const mode = callback.mode ?? 'response';
    if (mode !== 'response' && (callback.secret !== undefined || callback.method !== undefined)) {
      throw new TypeError(`callback secret and method apply to mode "response" only, not "${mode}"`);
    }
    if (mode === 'response') {
      const params: Record<string, string> = { rel: 'respond-async', method: (callback.method ?? 'POST').toLowerCase() };
      if (callback.secret !== undefined) params.secret = callback.secret;
      links.push(formatLink(url, params));
    } else if (mode === 'notify') {
      if (notify !== undefined) throw new TypeError('only one callback can use mode "notify"');
      notify = url;
    } else if (mode === 'ping') {
      if (existing.has('callback') || prefer.some((p) => p.startsWith('callback'))) throw new TypeError('only one callback can use mode "ping"');
      prefer.push(`callback; url="${url}"`);
    } else {
      throw new TypeError(`unknown callback mode "${String(mode)}"`);
    }
  }
  if (prefer.length) headers.set('prefer', [headers.get('prefer'), ...prefer].filter(Boolean).join(', '));
  if (links.length) headers.set('callback', links.join(', '));
  if (notify !== undefined) {
    headers.set('accept-asynchronous', 'notify');
    headers.set('asynchronous-end-point', notify);
  }
}

function checkedUrl(url: string | URL): string {
  try {
    return callbackUrl(String(url), 'callback').href;
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
}

/** Credentials a job is bound to: the monitor must see the same ones, so they travel along. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie'];

/**
 * A function giving the headers for a monitor, event stream, result or cancel request to `url`: Accept JSON, and
 * the submitter's credentials — only to the request's own origin, as fetch itself drops `Authorization` on a
 * cross-origin redirect.
 */
export function credentialsFor(request: Request, extraHeaders: readonly string[]): (url: string) => Headers {
  const origin = new URL(request.url).origin;
  const carried: Array<[string, string]> = [];
  for (const name of [...CREDENTIAL_HEADERS, ...extraHeaders.map((h) => h.toLowerCase())]) {
    const value = request.headers.get(name);
    if (value !== null) carried.push([name, value]);
  }
  return (url: string) => {
    const headers = new Headers({ accept: 'application/json' });
    if (new URL(url).origin === origin) for (const [name, value] of carried) headers.set(name, value);
    return headers;
  };
}
