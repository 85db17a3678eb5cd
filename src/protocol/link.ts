/**
 * Link (RFC 8288), and any field borrowing its syntax, such as response redirection's `Callback`:
 *   Callback: <http://server.com/callback>; method="post"; rel="redirect"
 *
 * RFC 8288 §3:
 *   Link       = #link-value
 *   link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
 *   link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
 *
 * RFC 8288 §3.4 / RFC 8187 §3.2, for parameter names ending in "*":
 *   ext-value  = charset  "'" [ language ] "'" value-chars
 */
import { ProtocolError } from './errors.js';
import { fieldLines, isToken, quote, readQuoted, skipOWS, tokenEnd } from './syntax.js';

/** One link-value. */
export interface LinkValue {
  target: string;
  /** Lower-cased names, first instance wins, values unquoted (and RFC 8187-decoded for `name*`). */
  params: ReadonlyMap<string, string>;
}

// Neither SP nor CTLs can be part of a URI-Reference (RFC 3986 §2); bytes past Latin-1 cannot arrive in a header.
function isTargetText(c: number): boolean {
  return c > 0x20 && c !== 0x7f && c <= 0xff;
}

// RFC 8288 Appendix B.3 step 9: decode, but "continue processing input if an unrecoverable error is
// encountered", so an undecodable value is kept as sent.
function decodeExtValue(value: string): string {
  const m = /^(utf-8|iso-8859-1)'[^']*'(.*)$/is.exec(value);
  if (!m) return value;
  const [, charset = '', chars = ''] = m;
  if (charset.toLowerCase() === 'iso-8859-1') return chars.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  try {
    return decodeURIComponent(chars);
  } catch {
    return value;
  }
}

function parseLine(line: string, fieldName: string, out: LinkValue[]): void {
  const fail = (offset: number, what: string): never => {
    throw new ProtocolError(fieldName, `${what} at offset ${offset}`);
  };
  let i = 0;
  for (;;) {
    // #rule (RFC 9110 §5.6.1.2): empty list elements are accepted.
    while (i < line.length) {
      const c = line.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x2c) break;
      i++;
    }
    if (i >= line.length) return;
    if (line.charCodeAt(i) !== 0x3c) fail(i, "expected '<'");
    const close = line.indexOf('>', i + 1);
    if (close < 0) fail(i, "'<' without a closing '>'");
    for (let t = i + 1; t < close; t++) if (!isTargetText(line.charCodeAt(t))) fail(t, 'the URI contains a space or control character');
    const target = line.slice(i + 1, close);
    const params = new Map<string, string>();
    i = close + 1;
    for (;;) {
      let j = skipOWS(line, i);
      if (j >= line.length || line.charCodeAt(j) === 0x2c) {
        i = j;
        break;
      }
      if (line.charCodeAt(j) !== 0x3b) fail(j, "expected ';' or ','");
      j = skipOWS(line, j + 1);
      const nameEnd = tokenEnd(line, j);
      // A trailing or doubled ';' carries no parameter; real servers send it, and it hurts nobody.
      if (nameEnd === j) {
        i = j;
        continue;
      }
      const name = line.slice(j, nameEnd).toLowerCase();
      let value = '';
      i = nameEnd;
      const eq = skipOWS(line, nameEnd);
      if (line.charCodeAt(eq) === 0x3d) {
        const v = skipOWS(line, eq + 1);
        if (line.charCodeAt(v) === 0x22) {
          [value, i] = readQuoted(line, v) ?? fail(v, 'unterminated or invalid quoted-string');
        } else {
          i = tokenEnd(line, v);
          if (i === v) fail(v, 'expected a token or quoted-string');
          value = line.slice(v, i);
        }
      }
      if (name.endsWith('*')) value = decodeExtValue(value);
      // RFC 8288 §3.3 says so for rel; for the others it is the only safe reading of a duplicate.
      if (!params.has(name)) params.set(name, value);
    }
    out.push({ target, params });
  }
}

/** Parse a Link-syntax field: `<uri-ref> *( OWS ";" OWS link-param )`, comma-separated list; commas inside <> or quotes don't split. ProtocolError(fieldName, …) on syntax errors. */
export function parseLinkHeader(field: string | readonly string[] | undefined, fieldName = 'Link'): LinkValue[] {
  const links: LinkValue[] = [];
  for (const line of fieldLines(field)) parseLine(line, fieldName, links);
  return links;
}

// RFC 8187 §3.2.1 attr-char; everything else is percent-encoded UTF-8.
function encodeExtValue(value: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    throw new ProtocolError('Link', 'the parameter value is not well-formed Unicode');
  }
  return "UTF-8''" + encoded.replace(/[*'()]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Format one link: formatLink('https://x/y', { rel: 'monitor' }) → '<https://x/y>; rel="monitor"' */
export function formatLink(target: string, params: Record<string, string>): string {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3e) throw new ProtocolError('Link', 'the target is not a URI-Reference');
  }
  let out = `<${target}>`;
  for (const [name, value] of Object.entries(params)) {
    if (!isToken(name)) throw new ProtocolError('Link', `"${name}" is not a token`);
    // Quoted even when a token would do: RFC 8288 §3 examples quote, and some parsers only accept that.
    out += `; ${name}=${name.endsWith('*') ? encodeExtValue(value) : quote(value, 'Link')}`;
  }
  return out;
}
