/**
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header §2: "an Item Structured Header … Its value
 * MUST be a String").
 *
 * RFC 8941 §3.3.3:
 *   sf-string = DQUOTE *chr DQUOTE
 *   chr       = unescaped / escaped
 *   unescaped = %x20-21 / %x23-5B / %x5D-7E
 *   escaped   = "\" ( DQUOTE / "\" )
 *
 * Most clients send the key bare (Idempotency-Key: 8e03978e-…), so a bare run of visible ASCII is accepted
 * too. Either way the key is 1–255 visible ASCII characters, so it is safe to log and to store as-is.
 */
import { ProtocolError } from './errors.js';
import { skipOWS } from './syntax.js';

const FIELD = 'Idempotency-Key';
const MAX_LENGTH = 255;

function fail(message: string): never {
  throw new ProtocolError(FIELD, message);
}

// Returns the unescaped content; RFC 8941 Item parameters (";a=1") after the string are allowed and ignored.
function parseSfString(value: string): string {
  let out = '';
  let from = 1;
  for (let i = 1; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x5c) {
      const next = value.charCodeAt(i + 1);
      if (next !== 0x22 && next !== 0x5c) fail('only \\" and \\\\ may be escaped in a string');
      out += value.slice(from, i);
      from = ++i;
    } else if (c === 0x22) {
      const rest = value.slice(i + 1);
      if (rest !== '' && !rest.startsWith(';')) fail('unexpected characters after the closing quote');
      return out + value.slice(from, i);
    } else if (c < 0x20 || c > 0x7e) {
      fail('the key must be visible ASCII');
    }
  }
  return fail('unterminated string');
}

/** Parse Idempotency-Key. Accepts the sf-string form ("\"8e03…\"") and, leniently, a bare token/visible-ASCII value (what most clients send). 1–255 chars after unquoting, visible ASCII only. Several field lines → ProtocolError. undefined → undefined. */
export function parseIdempotencyKey(field: string | readonly string[] | undefined): string | undefined {
  if (field === undefined) return undefined;
  let line: string | undefined;
  if (typeof field === 'string') line = field;
  else if (field.length > 1) fail('sent more than once');
  else line = field[0];
  if (line === undefined) return undefined;
  // RFC 8941 §4.2 discards surrounding SP; HTAB too, as every other field here does.
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 0x20 || line.charCodeAt(end - 1) === 0x09)) end--;
  const value = line.slice(skipOWS(line, 0), end);
  const key = value.startsWith('"') ? parseSfString(value) : value;
  if (key.length === 0) fail('the key is empty');
  if (key.length > MAX_LENGTH) fail(`the key is longer than ${MAX_LENGTH} characters`);
  // A space here is usually two keys that node joined with ", " from duplicate field lines.
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) fail('the key must be visible ASCII, without spaces');
  }
  return key;
}
