/**
 * If-None-Match against an entity tag (RFC 9110 §13.1.2, §8.8.3).
 *
 * RFC 9110 §13.1.2:
 *   If-None-Match = "*" / #entity-tag
 *
 * RFC 9110 §8.8.3:
 *   entity-tag = [ weak ] opaque-tag
 *   weak       = %s"W/"
 *   opaque-tag = DQUOTE *etagc DQUOTE
 *   etagc      = %x21 / %x23-7E / obs-text
 *
 * §13.1.2: "A recipient MUST use the weak comparison function when comparing entity tags for If-None-Match".
 */
import { fieldLines, skipOWS } from './syntax.js';

function isEtagc(c: number): boolean {
  return c === 0x21 || (c >= 0x23 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

// Weak comparison ignores W/; an unquoted tag is taken to be the opaque content, so a caller passing a bare
// hash still gets matches instead of silently never matching.
function opaqueTag(etag: string): string {
  const tag = etag.startsWith('W/') ? etag.slice(2) : etag;
  return tag.length >= 2 && tag.startsWith('"') && tag.endsWith('"') ? tag : `"${tag}"`;
}

// "*" is the whole field value (ABNF above), not a list member; empty extra field lines do not change that.
function isStar(lines: readonly string[]): boolean {
  let star = false;
  for (const line of lines) {
    const t = line.trim();
    if (t === '*') star = true;
    else if (t !== '') return false;
  }
  return star;
}

// etagc includes ',' but, unlike quoted-string, no backslash escapes: skip to the first comma outside quotes.
function skipItem(line: string, i: number): number {
  let quoted = false;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x22) quoted = !quoted;
    else if (c === 0x2c && !quoted) return i + 1;
  }
  return i;
}

/** True when If-None-Match matches `etag` by weak comparison (W/ ignored), or is "*". Malformed list items are ignored. */
export function ifNoneMatchMatches(field: string | readonly string[] | undefined, etag: string): boolean {
  const lines = fieldLines(field);
  if (lines.length === 0) return false;
  if (isStar(lines)) return true;
  const wanted = opaqueTag(etag);
  for (const line of lines) {
    let i = 0;
    while (i < line.length) {
      i = skipOWS(line, i);
      let start = i;
      if (line.startsWith('W/', start)) start += 2;
      let end = -1;
      if (line.charCodeAt(start) === 0x22) {
        let j = start + 1;
        while (j < line.length && isEtagc(line.charCodeAt(j))) j++;
        if (line.charCodeAt(j) === 0x22) end = j + 1;
      }
      // Well-formed only if nothing but OWS follows before the next comma.
      if (end > 0) {
        const after = skipOWS(line, end);
        if (after === line.length || line.charCodeAt(after) === 0x2c) {
          if (end - start === wanted.length && line.startsWith(wanted, start)) return true;
          i = after + 1;
          continue;
        }
      }
      i = skipItem(line, i);
    }
  }
  return false;
}
