/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate` fields.
 *
 * §3.2.2:
 *   traceparent    = version "-" version-format
 *   version        = 2HEXDIGLC          ; "ff" is forbidden
 *   version-format = trace-id "-" parent-id "-" trace-flags      ; version 00
 *   trace-id       = 32HEXDIGLC         ; not all zeros
 *   parent-id      = 16HEXDIGLC         ; not all zeros
 *   trace-flags    = 2HEXDIGLC          ; 01 = sampled; other bits zero in version 00
 *   HEXDIGLC       = DIGIT / "a" / "b" / "c" / "d" / "e" / "f"
 *
 * §3.2.4 (versioning): version 00 is exactly 55 characters. A later version is read by the version 00 rules
 * when it is at least 55 characters and, if longer, the 56th is "-". A traceparent that cannot be read is not an
 * error: the receiver starts a new trace, and then must not read tracestate either (§3.3).
 *
 * §3.3.1:
 *   list             = list-member 0*31( OWS "," OWS list-member )
 *   list-member      = (key "=" value) / OWS
 *   key              = simple-key / multi-tenant-key
 *   simple-key       = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
 *   multi-tenant-key = tenant-id "@" system-id
 *   tenant-id        = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
 *   system-id        = lcalpha 0*13( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
 *   value            = 0*255(chr) nblk-chr
 *   nblk-chr         = %x21-2B / %x2D-3C / %x3E-7E
 *   chr              = %x20 / nblk-chr
 *
 * §3.3.1.5: a vendor propagates at least 512 characters (commas included, OWS not); when it must cut, it
 * removes members longer than 128 characters first, then members from the end.
 */
import { randomFillSync } from 'node:crypto';

/** A traceparent as read: lower-case hex ids, the flags as a number (every bit, as received). */
export interface TraceParent {
  traceId: string;
  parentId: string;
  flags: number;
}

/** The one trace-flag version 00 defines. */
export const SAMPLED = 0x01;
/** The longest tracestate passed on (§3.3.1.5's minimum), without OWS. */
export const TRACESTATE_MAX_LENGTH = 512;
const LONG_MEMBER = 128;
const MAX_MEMBERS = 32;
const V00_LENGTH = 55;

const HEX = /^[0-9a-f]+$/;
const ZEROS = /^0+$/;
const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** One field line: several lines of a field that allows only one are as good as none. */
function single(field: string | readonly string[] | undefined): string | undefined {
  if (typeof field === 'string') return field;
  return field?.length === 1 ? field[0] : undefined;
}

const isHex = (s: string, length: number) => s.length === length && HEX.test(s);

/** Read a traceparent; undefined when absent or unreadable (start a new trace). Surrounding OWS is ignored. */
export function parseTraceparent(field: string | readonly string[] | undefined): TraceParent | undefined {
  const line = single(field);
  if (line === undefined) return undefined;
  const value = line.replace(/^[ \t]+|[ \t]+$/g, '');
  if (value.length < V00_LENGTH) return undefined;
  const version = value.slice(0, 2);
  if (!isHex(version, 2) || version === 'ff') return undefined;
  if (version === '00' ? value.length !== V00_LENGTH : value.length > V00_LENGTH && value[V00_LENGTH] !== '-') return undefined;
  if (value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return undefined;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (!isHex(traceId, 32) || !isHex(parentId, 16) || !isHex(flags, 2)) return undefined;
  if (ZEROS.test(traceId) || ZEROS.test(parentId)) return undefined;
  return { traceId, parentId, flags: parseInt(flags, 16) };
}

/** A version 00 traceparent. Only the sampled bit of `flags` is kept: version 00 defines no other (§3.2.2.5). */
export function formatTraceparent(traceId: string, parentId: string, flags: number): string {
  return `00-${traceId}-${parentId}-${flags & SAMPLED ? '01' : '00'}`;
}

/** The trace id of a traceparent made by formatTraceparent. */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

/** A traceparent made by formatTraceparent, with another parent-id: the same trace, another span. */
export function withParentId(traceparent: string, parentId: string): string {
  return traceparent.slice(0, 36) + parentId + traceparent.slice(52);
}

/**
 * Read tracestate (several field lines are one list, §3.3.1.1) into the form passed on: valid members only,
 * the first of each key, at most 32, joined by "," without OWS, cut to TRACESTATE_MAX_LENGTH as §3.3.1.5 says.
 * undefined when nothing is left.
 */
export function parseTracestate(field: string | readonly string[] | undefined): string | undefined {
  if (field === undefined) return undefined;
  const text = typeof field === 'string' ? field : field.join(',');
  const members: string[] = [];
  const keys = new Set<string>();
  for (const part of text.split(',')) {
    const member = part.replace(/^[ \t]+|[ \t]+$/g, '');
    const eq = member.indexOf('=');
    if (eq <= 0) continue;
    const key = member.slice(0, eq);
    if (keys.has(key) || !KEY.test(key) || !VALUE.test(member.slice(eq + 1))) continue;
    keys.add(key);
    members.push(member);
    if (members.length === MAX_MEMBERS) break;
  }
  let length = members.reduce((n, m) => n + m.length, 0) + Math.max(0, members.length - 1);
  const cut = (i: number) => {
    length -= members[i]!.length + (members.length > 1 ? 1 : 0);
    members.splice(i, 1);
  };
  for (let i = members.length - 1; i >= 0 && length > TRACESTATE_MAX_LENGTH; i--) if (members[i]!.length > LONG_MEMBER) cut(i);
  while (length > TRACESTATE_MAX_LENGTH) cut(members.length - 1);
  return members.length ? members.join(',') : undefined;
}

/** Random bytes drawn from the OS in blocks: an id costs its hex string, not a buffer and a system call. */
const pool = Buffer.allocUnsafeSlow(4096);
let used = pool.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const from = used;
    used += bytes;
    for (let i = from; i < used; i++) if (pool[i] !== 0) return pool.toString('hex', from, used);
    // All zeros is not a valid id (§3.2.2.3): draw again.
  }
}

/** A new trace-id: 16 random bytes. */
export const newTraceId = (): string => randomHex(16);

/** A new parent-id (span id): 8 random bytes. */
export const newSpanId = (): string => randomHex(8);
