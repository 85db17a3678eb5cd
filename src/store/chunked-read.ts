/**
 * Reading a body kept as numbered pieces (results, large requests) without holding it whole: a page of
 * pieces at a time, and for a byte range only the pieces it overlaps, sliced at the ends.
 */

export interface Piece {
  seq: number;
  data: Uint8Array;
}

export interface PieceSize {
  seq: number;
  len: number;
}

/** Inclusive byte positions. */
export interface ByteSpan {
  start: number;
  end: number;
}

/** Request pieces of a job that was never committed (the client went away mid-upload) are swept after this. */
export const ORPHAN_AFTER_MS = 3600_000;

/** Pieces per round trip: ~4 MiB at the usual 256 KiB piece. */
export const PAGE = 16;

/** Every piece from `fromSeq` on, in order, fetched a page at a time. */
export async function* pages(fetch: (fromSeq: number) => Promise<Piece[]>, fromSeq = 0, untilSeq = Infinity): AsyncIterable<Piece> {
  for (let seq = fromSeq; seq <= untilSeq; ) {
    const rows = await fetch(seq);
    for (const r of rows) {
      if (r.seq > untilSeq) return;
      yield r;
    }
    if (rows.length < PAGE) return;
    seq = rows[rows.length - 1]!.seq + 1;
  }
}

/** The bytes of `span`, given the pieces' sizes (cheap to read) and a way to fetch pieces. */
export async function* sliceOfPieces(
  sizes: PieceSize[],
  fetch: (fromSeq: number) => Promise<Piece[]>,
  span: ByteSpan,
): AsyncIterable<Uint8Array> {
  let offset = 0;
  const starts = new Map<number, number>();
  let first: number | undefined;
  let last: number | undefined;
  for (const { seq, len } of sizes) {
    starts.set(seq, offset);
    if (first === undefined && offset + len > span.start) first = seq;
    if (offset <= span.end) last = seq;
    offset += len;
  }
  if (first === undefined || last === undefined) return;
  for await (const piece of pages(fetch, first, last)) {
    const at = starts.get(piece.seq)!;
    const from = Math.max(0, span.start - at);
    const to = Math.min(piece.data.byteLength, span.end - at + 1);
    if (to > from) yield from === 0 && to === piece.data.byteLength ? piece.data : piece.data.subarray(from, to);
  }
}
