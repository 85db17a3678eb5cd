/**
 * Forwarded (RFC 7239), and the client-facing origin worked out from it or its X-Forwarded-* predecessors.
 *
 * RFC 7239 §4:
 *   Forwarded         = 1#forwarded-element
 *   forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
 *   forwarded-pair    = token "=" value
 *   value             = token / quoted-string
 *
 * RFC 7239 §6:
 *   node     = nodename [ ":" node-port ]
 *   nodename = IPv4address / "[" IPv6address "]" / "unknown" / obfnode
 *
 * "Note that as ":" and "[]" are not valid characters in "token", IPv6 addresses are written as
 * "quoted-string"." — e.g. Forwarded: For="[2001:db8:cafe::17]:4711"
 */
import { isIPv6 } from 'node:net';
import { fieldLines, nextComma, readQuoted, skipOWS, tokenEnd, word } from './syntax.js';

/** The parameters of one forwarded-element that RFC 7239 §5 defines; extensions are dropped. */
export interface ForwardedElement {
  for?: string;
  by?: string;
  host?: string;
  proto?: string;
}

type Key = keyof ForwardedElement;
const KEYS: readonly Key[] = ['for', 'by', 'host', 'proto'];
const KNOWN: ReadonlySet<string> = new Set(KEYS);

/**
 * The forwarded-element in `s` between `i` and the list comma at `end`: null for an empty list element,
 * undefined for a malformed one. OWS around ";" and "=" is tolerated: the grammar has none, senders add it.
 */
function parseElement(s: string, i: number, end: number): ForwardedElement | null | undefined {
  const el: ForwardedElement = {};
  let pairs = 0;
  for (;;) {
    i = skipOWS(s, i);
    if (i >= end) return pairs > 0 ? el : null;
    if (s.charCodeAt(i) === 0x3b) {
      i++;
      continue;
    }
    const nameEnd = tokenEnd(s, i);
    if (nameEnd === i) return undefined;
    const name = s.slice(i, nameEnd).toLowerCase();
    let j = skipOWS(s, nameEnd);
    if (s.charCodeAt(j) !== 0x3d) return undefined;
    j = skipOWS(s, j + 1);
    let value: string;
    if (s.charCodeAt(j) === 0x22) {
      const q = readQuoted(s, j);
      if (q === undefined || q[1] > end) return undefined;
      [value, j] = q;
    } else {
      const valueEnd = tokenEnd(s, j);
      if (valueEnd === j) return undefined;
      value = s.slice(j, valueEnd);
      j = valueEnd;
    }
    j = skipOWS(s, j);
    if (j < end && s.charCodeAt(j) !== 0x3b) return undefined;
    if (KNOWN.has(name)) {
      // RFC 7239 §4: "Each parameter MUST NOT occur more than once per forwarded-element"; which one to
      // believe is anyone's guess, so the element is dropped.
      if (el[name as Key] !== undefined) return undefined;
      el[name as Key] = value;
    }
    pairs++;
    i = j;
  }
}

/** Up to `max` elements in order, `undefined` standing for a malformed one, empty list elements skipped. */
function elements(field: string | readonly string[] | undefined, max: number): (ForwardedElement | undefined)[] {
  const out: (ForwardedElement | undefined)[] = [];
  for (const line of fieldLines(field)) {
    for (let i = 0; i < line.length && out.length < max; ) {
      const end = nextComma(line, i);
      const el = parseElement(line, i, end);
      if (el !== null) out.push(el);
      i = end + 1;
    }
  }
  return out;
}

/** Format one forwarded-element, quoting where the grammar needs it (IPv6 → for="[2001:db8::1]", ports, etc.). */
export function formatForwarded(el: ForwardedElement): string {
  const pairs: string[] = [];
  for (const key of KEYS) {
    const value = el[key];
    if (value === undefined) continue;
    // A socket's remoteAddress is a bare IPv6 address; RFC 7239 §6 wants it bracketed.
    const node = (key === 'for' || key === 'by') && isIPv6(value) ? `[${value}]` : value;
    pairs.push(`${key}=${word(node, 'Forwarded')}`);
  }
  return pairs.join(';');
}

/** Parse a Forwarded field (possibly several lines / elements). Lenient: malformed elements are skipped, never throws. */
export function parseForwarded(field: string | readonly string[] | undefined): ForwardedElement[] {
  return elements(field, Infinity).filter((el) => el !== undefined);
}

// Stricter than RFC 3986 reg-name on purpose: the result is pasted into URLs we hand out, so sub-delims,
// '%', '@', '/', spaces and the like are refused rather than escaped.
const HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9._~-]+)(?::[0-9]{1,5})?$/i;

// The URL parser has the last word (IPv6 syntax, port range, IDNA, "0x7f.1" as IPv4) and spells the origin
// the way URL#origin does, so a value that passes is one every later `new URL(path, origin)` accepts.
function originOf(proto: 'http' | 'https', host: string | undefined): string | undefined {
  if (host === undefined || host.length > 300 || !HOST.test(host)) return undefined;
  try {
    return new URL(`${proto}://${host}`).origin;
  } catch {
    return undefined;
  }
}

function parseProto(value: string | undefined): 'http' | 'https' | undefined {
  const lower = value?.toLowerCase();
  return lower === 'http' || lower === 'https' ? lower : undefined;
}

// X-Forwarded-* are comma lists too, with the client-facing value first.
function firstItem(field: string | readonly string[] | undefined): string | undefined {
  const line = fieldLines(field)[0];
  if (line === undefined) return undefined;
  const comma = line.indexOf(',');
  return (comma < 0 ? line : line.slice(0, comma)).trim();
}

/** Work out the client-facing origin from request headers, first match wins: Forwarded (first element host/proto), X-Forwarded-Host/X-Forwarded-Proto (first comma item), Host. `defaultProto` is 'http' or 'https' (socket's). Validates host (no spaces, no '/', '@', etc.) and proto (http|https only); invalid values are ignored (fall through), never thrown. Returns e.g. "https://api.example.com:8443". */
export function requestOrigin(
  headers: { forwarded?: string | string[]; 'x-forwarded-host'?: string | string[]; 'x-forwarded-proto'?: string | string[]; host?: string | string[] },
  defaultProto: 'http' | 'https',
  fallbackHost: string,
): string {
  // The first element was added by the proxy nearest the client, so it saw the Host the client used. If
  // that one is malformed the later ones describe inner hops, so Forwarded is not used at all.
  const first = headers.forwarded === undefined ? undefined : elements(headers.forwarded, 1)[0];
  // Host and proto are settled separately: a proxy may send Forwarded: host=… with X-Forwarded-Proto.
  const proto = parseProto(first?.proto) ?? parseProto(firstItem(headers['x-forwarded-proto'])) ?? defaultProto;
  return (
    originOf(proto, first?.host) ??
    originOf(proto, firstItem(headers['x-forwarded-host'])) ??
    originOf(proto, firstItem(headers.host)) ??
    originOf(proto, fallbackHost) ??
    `${proto}://${fallbackHost}`
  );
}
