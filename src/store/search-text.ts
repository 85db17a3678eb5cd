/**
 * What of a body the admin search sees, and how a search is cut into words. Both backends index the same text
 * and ask with the same words, so a search finds the same jobs on SQLite and PostgreSQL.
 *
 * - Only a body that is UTF-8 text (no NUL byte) is searchable; a binary one is not.
 * - Only its first SEARCHABLE_BODY_BYTES: indexing costs time on the accept path, in proportion to the text.
 * - A word is a run of letters, digits and combining marks (Unicode), compared in lower case: `cust-54@x.io`
 *   holds the words `cust`, `54`, `x`, `io`. A search matches a body holding every word of it, each as a word
 *   of the body or the start of one (`invo` finds `invoice`).
 */

export const SEARCHABLE_BODY_BYTES = 64 * 1024;
/** More words than this in one search are ignored (each word is one more index lookup). */
export const MAX_SEARCH_WORDS = 8;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The searchable text of a body (its first `limit` bytes), or null when it is empty or not UTF-8 text. */
export function searchableText(body: Uint8Array | null | undefined, limit = SEARCHABLE_BODY_BYTES): string | null {
  if (!body || body.byteLength === 0) return null;
  let bytes = body.byteLength > limit ? body.subarray(0, limit) : body;
  // A cut may split the last character: drop its leading bytes (at most 3), never a whole character.
  if (bytes !== body) {
    let end = bytes.byteLength;
    for (let back = 0; back < 3 && end > 0 && (bytes[end - 1]! & 0xc0) === 0x80; back++) end--;
    if (end > 0 && bytes[end - 1]! >= 0xc0) end--;
    bytes = bytes.subarray(0, end);
  }
  if (bytes.includes(0)) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

const WORD = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

/** The words of a text (or of a search), lower case, in order. */
export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/** The words a search asks for (at most MAX_SEARCH_WORDS, repeats dropped). */
export function searchWords(search: string): string[] {
  return [...new Set(words(search))].slice(0, MAX_SEARCH_WORDS);
}

/** `search` as a LIKE pattern for a substring, with `\` escaping `%`, `_` and itself. */
export function likeSubstring(search: string): string {
  return `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** A body's searchable words as one string (`searchableText` cut by `words`), null when it has none: what a
 * backend without its own word splitting (PostgreSQL's `to_tsvector('simple', …)`) indexes. */
export function searchWordsOf(body: Uint8Array | null | undefined): string | null {
  const text = searchableText(body);
  if (text === null) return null;
  const all = words(text);
  return all.length ? all.join(' ') : null;
}
