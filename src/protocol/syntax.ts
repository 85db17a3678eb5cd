/**
 * The lexical pieces every HTTP field grammar here is built from (RFC 9110 §5.6).
 *
 *   token          = 1*tchar
 *   tchar          = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *                    "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 *   OWS            = *( SP / HTAB )
 *   BWS            = OWS
 *   quoted-string  = DQUOTE *( qdtext / quoted-pair ) DQUOTE
 *   qdtext         = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
 *   quoted-pair    = "\" ( HTAB / SP / VCHAR / obs-text )
 *   obs-text       = %x80-FF
 *
 * Internal to protocol/: the per-header modules are the public surface.
 */
import { ProtocolError } from './errors.js';

/** What node hands us for a header: absent, one field line, or several. */
export type FieldInput = string | readonly string[] | undefined;

const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

/** True for a tchar code unit. */
export function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/** True when `s` is a non-empty token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false;
  return true;
}

/** The field lines of a header, absent or not. */
export function fieldLines(field: FieldInput): readonly string[] {
  if (field === undefined) return [];
  return typeof field === 'string' ? [field] : field;
}

/** Index of the first non-OWS code unit at or after `i`. */
export function skipOWS(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just past the token starting at `i` (== `i` when there is none). */
export function tokenEnd(s: string, i: number): number {
  while (i < s.length && isTchar(s.charCodeAt(i))) i++;
  return i;
}

// quoted-pair may escape anything a qdtext may hold, plus DQUOTE and backslash.
function isQdtext(c: number): boolean {
  return c === 0x09 || c === 0x20 || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}
function isEscapable(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

/**
 * Read the quoted-string whose opening DQUOTE is at `i`: returns its unescaped content and the index past the
 * closing DQUOTE, or undefined when it is unterminated or holds a character the grammar forbids.
 */
export function readQuoted(s: string, i: number): [value: string, end: number] | undefined {
  let out = '';
  let from = i + 1;
  for (let j = from; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return [out + s.slice(from, j), j + 1];
    if (c === 0x5c) {
      const next = s.charCodeAt(j + 1);
      if (!isEscapable(next)) return undefined;
      out += s.slice(from, j);
      from = j + 1;
      j++;
    } else if (!isQdtext(c)) {
      return undefined;
    }
  }
  return undefined;
}

/** Serialise `value` as a quoted-string; ProtocolError when no quoted-string can carry it (CTLs, > U+00FF). */
export function quote(value: string, field: string): string {
  let out = '"';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) {
      out += value.slice(from, i) + '\\';
      from = i;
    } else if (!isQdtext(c)) {
      throw new ProtocolError(field, `character U+${c.toString(16).padStart(4, '0')} cannot be sent in a header value`);
    }
  }
  return out + value.slice(from) + '"';
}

/** Serialise a `word` (token / quoted-string): bare when it is a token, quoted otherwise. */
export function word(value: string, field: string): string {
  return isToken(value) ? value : quote(value, field);
}

/**
 * Index of the next list-separating comma at or after `i` (or `s.length`), stepping over quoted-strings so a
 * comma inside quotes never splits. Used to resynchronise after a malformed element in lenient parsers.
 */
export function nextComma(s: string, i: number): number {
  let inQuotes = false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inQuotes) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuotes = false;
    } else if (c === 0x22) {
      inQuotes = true;
    } else if (c === 0x2c) {
      return i;
    }
  }
  return s.length;
}
