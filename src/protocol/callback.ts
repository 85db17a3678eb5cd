/**
 * The `Callback` request header of Jeff Lindsay's "Response Redirection" (2012), in RFC 8288 Link syntax:
 *
 *   Callback: <http://server.com/callback>; method="post"; rel="redirect"
 *   Callback: <http://server.com/callback>; rel="respond-async"
 *
 * Several callbacks may be listed, comma-separated. `rel` is `redirect` (with `Pragma: redirect`) or
 * `respond-async` (with `Prefer: respond-async`); `method` is POST (default) or PUT; a `secret` parameter
 * asks for an HMAC signature keyed by it (the post: "if a secret parameter was given, it would imply that an
 * HMAC signature be provided in the callback request").
 * Source: http://progrium.com/blog/2012/12/06/async-http-responses-with-response-redirection/
 *
 * Also OData's callback preference (OData 4.01 Part 1 §8.2.8.1): `Prefer: callback; url="…"`.
 */
import { ProtocolError } from './errors.js';
import { parseLinkHeader } from './link.js';
import type { Preference } from './prefer.js';

export interface CallbackTarget {
  url: URL;
  method: 'POST' | 'PUT';
  rel: 'redirect' | 'respond-async';
  secret: string | undefined;
}

const RELS = new Set(['redirect', 'respond-async']);

/** Parse `Callback`. undefined when absent; ProtocolError('Callback', …) when malformed. */
export function parseCallbackHeader(field: string | readonly string[] | undefined): CallbackTarget[] | undefined {
  if (field === undefined) return undefined;
  const links = parseLinkHeader(field, 'Callback');
  if (links.length === 0) throw new ProtocolError('Callback', 'Callback has no <url>');
  return links.map((link) => {
    const method = (link.params.get('method') ?? 'post').toUpperCase();
    if (method !== 'POST' && method !== 'PUT') {
      throw new ProtocolError('Callback', `Callback method "${link.params.get('method')}" is not POST or PUT`);
    }
    const rel = (link.params.get('rel') ?? 'redirect').toLowerCase();
    if (!RELS.has(rel)) throw new ProtocolError('Callback', `Callback rel "${rel}" is not "redirect" or "respond-async"`);
    const secret = link.params.get('secret');
    if (secret !== undefined && secret.length === 0) throw new ProtocolError('Callback', 'Callback secret is empty');
    return { url: callbackUrl(link.target, 'Callback'), method, rel: rel as CallbackTarget['rel'], secret };
  });
}

/** OData `Prefer: callback; url="…"`: the URL to ping, undefined when not asked. */
export function odataCallbackUrl(prefs: ReadonlyMap<string, Preference>): URL | undefined {
  const pref = prefs.get('callback');
  if (!pref) return undefined;
  const url = pref.params.get('url');
  if (!url) throw new ProtocolError('Prefer', 'the callback preference needs a url parameter: callback; url="https://…"');
  return callbackUrl(url, 'Prefer');
}

/** An absolute http(s) URL without credentials; anything else is a ProtocolError naming the field. */
export function callbackUrl(text: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ProtocolError(field, `callback URL "${text}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProtocolError(field, `callback URL "${text}" must be http or https`);
  }
  if (url.username || url.password) throw new ProtocolError(field, 'callback URL must not carry credentials');
  return url;
}
