/**
 * Which shard a job lives in, read off its id. With `--workers N` on SQLite every worker process owns a file
 * of its own (a shard) and stamps its shard on the ids it makes: the last character of a job id (and of a
 * delivery id, `msg_` + an id stamped like its job's) is the shard's number in the ids' alphabet.
 *
 * An id made before shards (or by a single process) ends in one of 4 characters (its last 6 bits hold 2 bits
 * of the random part and 4 zero bits): `0`, `G`, `W` or `l`, which are shards 0, 16, 32 and 48. Such a job is
 * in shard 0 (a single file is opened as shard 0), so a store that finds no job where the id points also
 * looks in shard 0.
 */

/** The ids' alphabet (engine/ids.ts), in ASCII order: a shard's number is its character's place here. */
export const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~';

/** The most shards one store may have: one character of the alphabet each. */
export const MAX_SHARDS = ID_ALPHABET.length;

/** `id` with its last character replaced by the stamp of `shard`. */
export function stampShard(id: string, shard: number): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= MAX_SHARDS) throw new RangeError(`shard ${shard} is not 0…${MAX_SHARDS - 1}`);
  return id.slice(0, -1) + ID_ALPHABET[shard]!;
}

/**
 * The shard an id names among `count` shards: the place of its last character, or 0 when that is not one of
 * the `count` (an id from before there were that many). The caller looks in shard 0 too when this one does
 * not have it.
 */
export function shardOfId(id: string, count: number): number {
  const shard = ID_ALPHABET.indexOf(id.charAt(id.length - 1));
  return shard >= 0 && shard < count ? shard : 0;
}

/** The shard a job with this owner and Idempotency-Key lives in: always the same one for the same pair,
 * whichever worker accepts it, so the shard's unique index keeps the key unique across all workers. */
export function shardOfKey(owner: string | null, key: string, count: number): number {
  return fnv1a(`${owner ?? ''}\u0000${key}`) % count;
}

/** The shard the jobs of a job group (and its record) live in: all in one, so that the claim of the worker
 * owning it sees every running job of the group and keeps to its bounds exactly. A group's key already names
 * its owner (the QStash API's keys do). */
export function shardOfGroup(group: string, count: number): number {
  return fnv1a(`\u0001${group}`) % count;
}

/** FNV-1a: cheap, and spreads keys evenly enough over a few shards. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
