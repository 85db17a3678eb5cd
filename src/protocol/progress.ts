/**
 * Progress (draft-wright-http-progress, §"The Progress header"), carried by `102 Processing` interim
 * responses from an upstream that reports how far along it is:
 *
 *   Progress        = fraction *( WS progress-remark )
 *   progress-remark = fraction / comment / quoted-string / ext-value
 *   fraction        = 1*DIGIT "/" [ 1*DIGIT ]
 *   comment         = <comment, see RFC 7230 §3.2.6>       ; "(" *( ctext / quoted-pair / comment ) ")"
 *   quoted-string   = <quoted-string, see RFC 7230 §3.2.6>
 *   ext-value       = <ext-value, see RFC 8187 §3.2>        ; charset "'" [ language ] "'" value-chars
 *
 * The first fraction is the operation: numerator = steps done, denominator = steps expected (may be omitted
 * when unknown, "MUST NOT be smaller than the numerator"). "Remarks MUST be listed in descending significance;
 * if multiple fractions are presented, remarks describe the operation identified by the previous fraction" —
 * so the message is the first quoted-string or ext-value before any second fraction. A comment "implies the
 * text is not intended for end users" and is skipped.
 *
 * Examples from the draft: `0/1`, `66/ (tries) utf-8'en'Generating%20prime%20number`,
 * `3/20 "POST http://example.com/item/3" 8020/8591489 (bytes)`.
 */
import { ProtocolError } from './errors.js';
import { quote, readQuoted } from './syntax.js';

export interface Progress {
  current: number;
  total?: number;
  message?: string;
}

const MAX_COMMENT_DEPTH = 8;

function isWS(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
// RFC 7230 §3.2.6: ctext = HTAB / SP / %x21-27 / %x2A-5B / %x5D-7E / obs-text
function isCtext(c: number): boolean {
  return c === 0x09 || c === 0x20 || (c >= 0x21 && c <= 0x27) || (c >= 0x2a && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}
// RFC 8187 §3.2.1: attr-char = ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
function isAttrChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || '!#$&+-.^_`|~'.includes(String.fromCharCode(c));
}

/** Digits at `i`: [value, end], or undefined when there are none or the number is not exactly representable. */
function readNumber(s: string, i: number): [number, number] | undefined {
  let j = i;
  while (j < s.length && isDigit(s.charCodeAt(j))) j++;
  if (j === i) return undefined;
  const n = Number(s.slice(i, j));
  return Number.isSafeInteger(n) ? [n, j] : undefined;
}

function readFraction(s: string, i: number): [current: number, total: number | undefined, end: number] | undefined {
  const num = readNumber(s, i);
  if (!num || s.charCodeAt(num[1]) !== 0x2f) return undefined;
  const den = readNumber(s, num[1] + 1);
  if (den) return [num[0], den[0], den[1]];
  // 1*DIGIT after "/" is optional, but a run of digits too long to be exact is malformed, not "unknown".
  if (isDigit(s.charCodeAt(num[1] + 1))) return undefined;
  return [num[0], undefined, num[1] + 1];
}

function commentEnd(s: string, i: number, depth = 0): number | undefined {
  if (depth > MAX_COMMENT_DEPTH) return undefined;
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x29) return j + 1;
    if (c === 0x28) {
      const end = commentEnd(s, j, depth + 1);
      if (end === undefined) return undefined;
      j = end - 1;
    } else if (c === 0x5c) {
      const next = s.charCodeAt(j + 1);
      if (!(next === 0x09 || (next >= 0x20 && next <= 0x7e) || (next >= 0x80 && next <= 0xff))) return undefined;
      j++;
    } else if (!isCtext(c)) {
      return undefined;
    }
  }
  return undefined;
}

/** ext-value at `i`: [decoded text (undefined for a charset we cannot decode), end], or undefined if malformed. */
function readExtValue(s: string, i: number): [string | undefined, number] | undefined {
  const m = /^([A-Za-z0-9!#$%&+\-^_`{}~]+)'([A-Za-z0-9-]*)'/.exec(s.slice(i));
  if (!m) return undefined;
  let j = i + m[0].length;
  const from = j;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x25) {
      if (!/^[0-9A-Fa-f]{2}$/.test(s.slice(j + 1, j + 3))) return undefined;
      j += 3;
    } else if (isAttrChar(c)) {
      j++;
    } else {
      break;
    }
  }
  const bytes = Buffer.from(s.slice(from, j).replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  const charset = m[1]!.toLowerCase();
  if (charset === 'iso-8859-1') return [bytes.toString('latin1'), j];
  if (charset !== 'utf-8') return [undefined, j];
  try {
    return [new TextDecoder('utf-8', { fatal: true }).decode(bytes), j];
  } catch {
    return [undefined, j];
  }
}

/**
 * Parse a Progress field. undefined when absent or malformed — it comes from upstreams we do not control, so
 * a bad one is ignored rather than failing the job. With several field lines, the last one is the news.
 */
export function parseProgress(field: string | readonly string[] | undefined): Progress | undefined {
  const line = typeof field === 'string' ? field : field?.at(-1);
  if (line === undefined) return undefined;
  let i = 0;
  while (isWS(line.charCodeAt(i))) i++;
  const first = readFraction(line, i);
  if (!first) return undefined;
  const [current, total] = first;
  if (total !== undefined && total < current) return undefined;
  i = first[2];
  let message: string | undefined;
  let describesFirst = true;
  while (i < line.length) {
    const ws = i;
    while (isWS(line.charCodeAt(i))) i++;
    if (i === line.length) break;
    if (i === ws) return undefined; // remarks are separated by whitespace
    const c = line.charCodeAt(i);
    if (c === 0x22) {
      const q = readQuoted(line, i);
      if (!q) return undefined;
      if (describesFirst && message === undefined) message = q[0];
      i = q[1];
    } else if (c === 0x28) {
      const end = commentEnd(line, i);
      if (end === undefined) return undefined;
      i = end;
    } else if (isDigit(c)) {
      const sub = readFraction(line, i);
      if (!sub) return undefined;
      i = sub[2];
      describesFirst = false;
    } else {
      const ext = readExtValue(line, i);
      if (!ext) return undefined;
      if (describesFirst && message === undefined && ext[0] !== undefined) message = ext[0];
      i = ext[1];
    }
  }
  return { current, ...(total !== undefined ? { total } : {}), ...(message !== undefined ? { message } : {}) };
}

/**
 * Format a Progress field. The message goes as a quoted-string when it is printable 7-bit ASCII (the draft
 * allows quoted-string only then), else as a UTF-8 ext-value.
 */
export function formatProgress(p: Progress): string {
  if (!Number.isSafeInteger(p.current) || p.current < 0 || (p.total !== undefined && (!Number.isSafeInteger(p.total) || p.total < p.current))) {
    throw new ProtocolError('Progress', 'current and total must be whole numbers with 0 <= current <= total');
  }
  let out = `${p.current}/${p.total ?? ''}`;
  if (p.message !== undefined) {
    if (/^[\t\x20-\x7e]*$/.test(p.message)) {
      out += ` ${quote(p.message, 'Progress')}`;
    } else {
      let encoded: string;
      try {
        encoded = encodeURIComponent(p.message);
      } catch {
        throw new ProtocolError('Progress', 'the message is not well-formed Unicode');
      }
      // RFC 8187 §3.2.1: anything but attr-char is percent-encoded.
      out += ` UTF-8''${encoded.replace(/[*'()]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase())}`;
    }
  }
  return out;
}
