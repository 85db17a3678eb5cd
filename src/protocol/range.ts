/**
 * Range requests on a stored result (RFC 9110 §14).
 *
 * RFC 9110 §14.1.1 / §14.2:
 *   Range             = ranges-specifier
 *   ranges-specifier  = range-unit "=" range-set
 *   range-set         = 1#range-spec
 *   range-spec        = int-range / suffix-range / other-range
 *   int-range         = first-pos "-" [ last-pos ]
 *   suffix-range      = "-" suffix-length
 *   first-pos = last-pos = suffix-length = 1*DIGIT
 *
 * §14.2: "A server MAY ignore the Range header field" — so a syntactically invalid Range, another unit, or a
 * set of several ranges is answered with the whole representation (`ignore`), which keeps every client
 * working. A valid set with no satisfiable range gets 416 (`unsatisfiable`). One satisfiable range gets 206.
 */

/** Inclusive byte positions of one satisfiable range. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeDecision = { kind: 'ignore' } | { kind: 'unsatisfiable' } | { kind: 'range'; range: ByteRange };

const SPEC = /^(\d*)-(\d*)$/;

/** Decide how to answer `Range: <header>` for a representation of `size` bytes. */
export function parseRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'ignore' };
  const eq = header.indexOf('=');
  if (eq === -1 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'ignore' };
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''); // §5.6.1: empty list elements are ignored
  if (specs.length === 0) return { kind: 'ignore' };
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const m = SPEC.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return { kind: 'ignore' };
    const [first, last] = [m[1]!, m[2]!];
    if (first === '') {
      // suffix-range: the last N bytes (§14.1.1); N = 0 is unsatisfiable.
      const n = Number(last);
      if (n > 0 && size > 0) ranges.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? size - 1 : Number(last);
    if (last !== '' && end < start) return { kind: 'ignore' }; // §14.1.1: invalid, so the whole field is
    if (start < size) ranges.push({ start, end: Math.min(end, size - 1) });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  if (ranges.length > 1) return { kind: 'ignore' }; // multipart/byteranges is not worth its cost here
  return { kind: 'range', range: ranges[0]! };
}

/** `Content-Range` of a 206 (`bytes 0-99/1234`) or of a 416 (`bytes *\/1234`), RFC 9110 §14.4. */
export function formatContentRange(range: ByteRange | null, size: number): string {
  return range ? `bytes ${range.start}-${range.end}/${size}` : `bytes */${size}`;
}
