/**
 * Find one member of a JSON text's top-level object without building the document: a byte scanner that
 * checks the grammar (RFC 8259) as it goes, with its own stack instead of recursion, so neither depth nor size
 * can exhaust the call stack, and nothing but the member's value is ever decoded.
 */

export type MemberLookup =
  /** Not one JSON text (the same verdict JSON.parse gives). */
  | { kind: 'not-json' }
  /** A JSON text without that member at the top level (or not an object). */
  | { kind: 'absent' }
  /** The member appears more than once (JSON.parse would keep the last; receivers differ). */
  | { kind: 'duplicate' }
  | {
      kind: 'found';
      /** Byte range of the member's value. */
      valueStart: number;
      valueEnd: number;
      /** Byte range that removes the member and one adjoining comma, leaving valid JSON. */
      cutStart: number;
      cutEnd: number;
    };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const IN_OBJECT = 1;
const IN_ARRAY = 2;

/** Locate the top-level member `name` of the JSON text in `b` (UTF-8). */
export function findTopLevelMember(b: Uint8Array, name: string): MemberLookup {
  const wanted = Buffer.from(name, 'utf8');
  let i = ws(b, 0);
  if (b[i] !== OPEN_OBJECT) {
    const end = skipValue(b, i);
    return end >= 0 && ws(b, end) === b.length ? { kind: 'absent' } : { kind: 'not-json' };
  }
  let found: Extract<MemberLookup, { kind: 'found' }> | undefined;
  let duplicate = false;
  let prevValueEnd = -1;
  let cutNext = false;
  i = ws(b, i + 1);
  if (b[i] === CLOSE_OBJECT) i++;
  else {
    for (;;) {
      const keyStart = i;
      const keyEnd = scanString(b, i);
      if (keyEnd < 0) return { kind: 'not-json' };
      if (cutNext && found) {
        found.cutEnd = keyStart;
        cutNext = false;
      }
      i = ws(b, keyEnd);
      if (b[i] !== COLON) return { kind: 'not-json' };
      const valueStart = ws(b, i + 1);
      const valueEnd = skipValue(b, valueStart);
      if (valueEnd < 0) return { kind: 'not-json' };
      if (keyIs(b, keyStart, keyEnd, wanted, name)) {
        if (found) duplicate = true;
        else {
          // With a member before it, cut from the end of that one (its comma goes); as the first member, cut up
          // to the next key if there is one (the comma after it goes); alone, cut just the member.
          found = { kind: 'found', valueStart, valueEnd, cutStart: prevValueEnd >= 0 ? prevValueEnd : keyStart, cutEnd: valueEnd };
          cutNext = prevValueEnd < 0;
        }
      }
      prevValueEnd = valueEnd;
      i = ws(b, valueEnd);
      if (b[i] === COMMA) {
        i = ws(b, i + 1);
        continue;
      }
      if (b[i] !== CLOSE_OBJECT) return { kind: 'not-json' };
      i++;
      break;
    }
  }
  if (ws(b, i) !== b.length) return { kind: 'not-json' };
  if (!found) return { kind: 'absent' };
  return duplicate ? { kind: 'duplicate' } : found;
}

/** `b` with `[start, end)` removed. */
export function cut(b: Buffer, start: number, end: number): Buffer {
  return Buffer.concat([b.subarray(0, start), b.subarray(end)], b.length - (end - start));
}

function keyIs(b: Uint8Array, start: number, end: number, wanted: Buffer, name: string): boolean {
  const raw = b.subarray(start + 1, end - 1);
  if (raw.indexOf(BACKSLASH) === -1) return Buffer.compare(raw, wanted) === 0;
  // An escaped key ("callback\u005furl") is the same member to JSON.parse, so it is to us.
  return JSON.parse(Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8')) === name;
}

function ws(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i]!;
    // Every byte above the space is not whitespace (and undefined, past the end, compares false).
    if (c > 0x20 || (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09)) return i;
    i++;
  }
}

/** The end of the JSON value starting at `i`, or -1. Iterative: open containers are kept in `stack`, one
 * byte each, not on the call stack. */
function skipValue(b: Uint8Array, i: number): number {
  let stack = new Uint8Array(32);
  let depth = 0;
  for (;;) {
    // A value starts at i.
    i = ws(b, i);
    const c = b[i];
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      i = ws(b, i + 1);
      const empty = b[i] === (c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY);
      if (empty) i++;
      else {
        if (depth === stack.length) {
          const grown = new Uint8Array(depth * 2);
          grown.set(stack);
          stack = grown;
        }
        stack[depth++] = c === OPEN_OBJECT ? IN_OBJECT : IN_ARRAY;
        if (c === OPEN_ARRAY) continue;
        i = memberKey(b, i);
        if (i < 0) return -1;
        continue;
      }
    } else if (c === QUOTE) i = scanString(b, i);
    else if (c === 0x2d || isDigit(c)) i = scanNumber(b, i);
    else if (c === 0x74) i = literal(b, i, 'true');
    else if (c === 0x66) i = literal(b, i, 'false');
    else if (c === 0x6e) i = literal(b, i, 'null');
    else return -1;
    if (i < 0) return -1;
    // A value ended at i: close containers until one continues with a comma.
    for (;;) {
      if (depth === 0) return i;
      const top = stack[depth - 1];
      i = ws(b, i);
      const d = b[i];
      if (d === COMMA) {
        i = top === IN_OBJECT ? memberKey(b, ws(b, i + 1)) : i + 1;
        if (i < 0) return -1;
        break;
      }
      if (d !== (top === IN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return -1;
      depth--;
      i++;
    }
  }
}

/** A member's key and colon at `i`; returns where its value starts, or -1. */
function memberKey(b: Uint8Array, i: number): number {
  if (i < 0) return -1;
  const end = scanString(b, i);
  if (end < 0) return -1;
  const colon = ws(b, end);
  return b[colon] === COLON ? colon + 1 : -1;
}

/** The end of the string starting at `i` (its closing quote included), or -1. */
function scanString(b: Uint8Array, i: number): number {
  if (b[i] !== QUOTE) return -1;
  i++;
  for (;;) {
    const c = b[i];
    if (c === undefined || c < 0x20) return -1;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      const e = b[i + 1];
      if (e === 0x75) {
        for (let k = i + 2; k < i + 6; k++) if (!isHex(b[k])) return -1;
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
      i += 2;
      continue;
    }
    i++;
  }
}

/** (undefined, past the end, compares false.) */
const isDigit = (c: number | undefined) => (c as number) >= 0x30 && (c as number) <= 0x39;
const isHex = (c: number | undefined) => isDigit(c) || ((c as number) >= 0x41 && (c as number) <= 0x46) || ((c as number) >= 0x61 && (c as number) <= 0x66);

/** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; returns its end or -1. */
function scanNumber(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

function literal(b: Uint8Array, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}
