/**
 * Accept-Asynchronous and Asynchronous-end-point (Fedora's "Asynchronous REST API" design; no RFC).
 *
 * The proposal (https://wiki.lyrasis.org/display/FF/Copy+of+Design+-+Asynchronous+REST+API):
 *   Accept-Asynchronous: polling | notify | response
 *   Asynchronous-end-point: <url>
 *
 * Read here, in the shape of the RFC 9110 list rules it lives among:
 *   Accept-Asynchronous    = 1#( mode *( OWS ";" anything-but-comma ) )
 *   mode                   = "polling" / "notify" / "response"   ; case-insensitive
 *   Asynchronous-end-point = absolute-URI / "<" absolute-URI ">"  ; http or https, no userinfo
 */
import { ProtocolError } from './errors.js';
import { fieldLines, nextComma, skipOWS, tokenEnd } from './syntax.js';

/** How the client wants to learn the outcome: poll a monitor, be told it is done, or be sent the response. */
export type AsyncMode = 'polling' | 'notify' | 'response';

const MODES: ReadonlySet<string> = new Set<AsyncMode>(['polling', 'notify', 'response']);
const ENDPOINT = 'Asynchronous-end-point';

/** Parse Accept-Asynchronous. Case-insensitive token, optional `;params` ignored, several comma-separated values allowed: the first recognised wins. Unknown-only or empty value → ProtocolError naming the allowed values. undefined input → undefined. */
export function parseAcceptAsynchronous(field: string | readonly string[] | undefined): AsyncMode | undefined {
  const lines = fieldLines(field);
  if (lines.length === 0) return undefined;
  for (const line of lines) {
    for (let i = 0; i < line.length; i = nextComma(line, i) + 1) {
      const start = skipOWS(line, i);
      const mode = line.slice(start, tokenEnd(line, start)).toLowerCase();
      // Whatever follows the mode (parameters, or the proposal's "; Asynchronous-end-point: …" written on one
      // line) is ignored, so a future parameter never breaks an old gateway.
      if (MODES.has(mode)) return mode as AsyncMode;
    }
  }
  throw new ProtocolError('Accept-Asynchronous', 'expected one of polling, notify, response');
}

// WHATWG URL parsing drops an empty userinfo ("http://@host/"), so credentials are also looked for in the raw
// authority: anything between the scheme's slashes and the first / \ ? #.
const RAW_AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:[/\\]*([^/\\?#]*)/;

function isUrlText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e || c === 0x22) return false;
  }
  return true;
}

/** Parse Asynchronous-end-point: a URL, optionally in angle brackets. Must be absolute http(s), no credentials (userinfo) → else ProtocolError. */
export function parseAsynchronousEndpoint(field: string | undefined): URL | undefined {
  if (field === undefined) return undefined;
  let raw = field.slice(skipOWS(field, 0)).trimEnd();
  if (raw.startsWith('<')) {
    if (!raw.endsWith('>')) throw new ProtocolError(ENDPOINT, "'<' without a closing '>'");
    raw = raw.slice(1, -1);
  }
  if (raw === '') throw new ProtocolError(ENDPOINT, 'expected an absolute http(s) URL');
  // The URL parser quietly strips or encodes these; in a header they mean the value is not one URL.
  if (!isUrlText(raw)) throw new ProtocolError(ENDPOINT, 'the URL contains spaces or characters a URL cannot hold');
  if (!/^https?:/i.test(raw)) throw new ProtocolError(ENDPOINT, 'expected an absolute http(s) URL');
  if (RAW_AUTHORITY.exec(raw)?.[1]?.includes('@')) throw new ProtocolError(ENDPOINT, 'the URL must not carry credentials');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ProtocolError(ENDPOINT, 'not a valid URL');
  }
  if (url.username !== '' || url.password !== '') throw new ProtocolError(ENDPOINT, 'the URL must not carry credentials');
  return url;
}
