/**
 * Prefer and Preference-Applied (RFC 7240).
 *
 * RFC 7240 §2:
 *   Prefer     = "Prefer" ":" 1#preference
 *   preference = token [ BWS "=" BWS word ]
 *                *( OWS ";" [ OWS parameter ] )
 *   parameter  = token [ BWS "=" BWS word ]
 *   word       = token / quoted-string        (RFC 9110 §5.6)
 *
 * RFC 7240 §3:
 *   Preference-Applied = "Preference-Applied" ":" 1#applied-pref
 *   applied-pref       = token [ BWS "=" BWS word ]
 */
import { ProtocolError } from './errors.js';
import { fieldLines, isToken, readQuoted, skipOWS, tokenEnd, word } from './syntax.js';

/** One preference as the client sent it. */
export interface Preference {
  /** Lower-cased: preference names are case-insensitive (RFC 7240 §2). */
  name: string;
  value: string | undefined;
  /** Lower-cased parameter names, first instance wins. */
  params: ReadonlyMap<string, string | undefined>;
}

const FIELD = 'Prefer';
// RFC 9111 §1.2.2 caps delta-seconds the same way; 2^31-1 also keeps it a valid setTimeout delay in seconds.
const MAX_WAIT = 2 ** 31 - 1;

function fail(offset: number, what: string): never {
  throw new ProtocolError(FIELD, `${what} at offset ${offset}`);
}

function readWord(line: string, i: number): [string, number] {
  if (line.charCodeAt(i) === 0x22) return readQuoted(line, i) ?? fail(i, 'unterminated or invalid quoted-string');
  const end = tokenEnd(line, i);
  if (end === i) fail(i, 'expected a token or quoted-string');
  return [line.slice(i, end), end];
}

// `[ BWS "=" BWS word ]` after a name ending at `i`. RFC 7240 §2: an empty value is the same as no value.
function readOptionalValue(line: string, i: number): [string | undefined, number] {
  const eq = skipOWS(line, i);
  if (line.charCodeAt(eq) !== 0x3d) return [undefined, i];
  const [value, end] = readWord(line, skipOWS(line, eq + 1));
  return [value === '' ? undefined : value, end];
}

/** Walk one field line, reporting each preference with the span of its source text. */
function eachPreference(line: string, visit: (pref: Preference, start: number, end: number) => void): void {
  let i = 0;
  for (;;) {
    // #rule (RFC 9110 §5.6.1.2): recipients accept empty list elements such as ", ,".
    while (i < line.length) {
      const c = line.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x2c) break;
      i++;
    }
    if (i >= line.length) return;
    const start = i;
    const nameEnd = tokenEnd(line, i);
    if (nameEnd === i) fail(i, 'expected a preference name');
    const [value, valueEnd] = readOptionalValue(line, nameEnd);
    let end = valueEnd;
    const params = new Map<string, string | undefined>();
    for (;;) {
      const j = skipOWS(line, end);
      if (j >= line.length || line.charCodeAt(j) === 0x2c) {
        i = j;
        break;
      }
      if (line.charCodeAt(j) !== 0x3b) fail(j, "expected ';' or ','");
      end = j + 1;
      const p = skipOWS(line, end);
      const pEnd = tokenEnd(line, p);
      if (pEnd === p) continue; // `;` with no parameter is allowed by the grammar
      const [pValue, after] = readOptionalValue(line, pEnd);
      const pName = line.slice(p, pEnd).toLowerCase();
      if (!params.has(pName)) params.set(pName, pValue);
      end = after;
    }
    visit({ name: line.slice(start, nameEnd).toLowerCase(), value, params }, start, end);
  }
}

/** Parse all Prefer field lines (node gives string | string[] | undefined). First instance of a preference wins; names case-insensitive; unknown preferences kept (caller ignores them). Empty list elements (", ,") are allowed and skipped. */
export function parsePrefer(field: string | readonly string[] | undefined): ReadonlyMap<string, Preference> {
  const prefs = new Map<string, Preference>();
  for (const line of fieldLines(field)) {
    // RFC 7240 §2: "only the first instance is to be considered", across field lines too.
    eachPreference(line, (pref) => {
      if (!prefs.has(pref.name)) prefs.set(pref.name, pref);
    });
  }
  return prefs;
}

/** The `wait` preference as whole seconds (RFC 7240 §4.3: delta-seconds). Undefined when absent. Throws ProtocolError on a non-integer / negative value. Huge values are clamped to 2^31-1 (caller clamps further). */
export function preferredWait(prefs: ReadonlyMap<string, Preference>): number | undefined {
  const wait = prefs.get('wait');
  if (wait === undefined) return undefined;
  const v = wait.value;
  if (v === undefined || !/^[0-9]+$/.test(v)) throw new ProtocolError(FIELD, 'wait must be a whole number of seconds');
  // Past ten digits Number() would round; anything that long is over the cap anyway.
  return v.length > 10 ? MAX_WAIT : Math.min(Number(v), MAX_WAIT);
}

/** Re-serialise a Prefer field without the named preferences (for forwarding with control preferences removed). Returns undefined when nothing is left. */
export function withoutPreferences(field: string | readonly string[] | undefined, names: readonly string[]): string | undefined {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  const kept: string[] = [];
  for (const line of fieldLines(field)) {
    // The kept elements go out byte for byte: the upstream sees exactly what the client wrote.
    eachPreference(line, (pref, start, end) => {
      if (!drop.has(pref.name)) kept.push(line.slice(start, end));
    });
  }
  return kept.length > 0 ? kept.join(', ') : undefined;
}

/** Format a Preference-Applied value from names (and optional values): formatPreferenceApplied([['respond-async'], ['wait', '10']]) → "respond-async, wait=10" */
export function formatPreferenceApplied(items: ReadonlyArray<readonly [string, string?]>): string {
  return items
    .map(([name, value]) => {
      if (!isToken(name)) throw new ProtocolError('Preference-Applied', `"${name}" is not a token`);
      return value === undefined || value === '' ? name : `${name}=${word(value, 'Preference-Applied')}`;
    })
    .join(', ');
}
