import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ID_ALPHABET, stampShard } from '../shared/shards.js';

const POOL_IDS = 256;
/**
 * 64 URL-safe characters in ASCII order, so that the string order of ids is their byte order. Not base64url's
 * own set: its `-` would come first, and an id starting with `-` reads as an option on a command line. `~`
 * (unreserved, RFC 3986 §2.3) takes its place at the end.
 */
const SORTED = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~';
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** base64url character code → the character of the same value in SORTED. */
const TO_SORTED = new Uint8Array(128);
for (let i = 0; i < 64; i++) TO_SORTED[BASE64URL.charCodeAt(i)] = SORTED.charCodeAt(i);
let pool = Buffer.alloc(0);
let offset = 0;
/** The time and sequence of the last id made (newJobId). */
let lastMs = 0;
let seq = 0;

/**
 * A job id: a 48-bit millisecond timestamp, a 16-bit sequence within that millisecond, then 112 random bits
 * from the CSPRNG, in 30 URL-safe characters (6 bits each, in an alphabet in ASCII order, so ids sort as
 * strings; the first is `0` until 2109). The random part makes it unguessable, since an id alone may grant
 * access. Time and sequence make the ids one process makes strictly increasing, also within one millisecond
 * (a FIFO job group runs its jobs in id order: docs/qstash.md#queues), and make them arrive in order, so inserts
 * append to the right edge of the primary-key index instead of dirtying a random page each: half the cost of a
 * durable accept. They reveal only the creation time, which the status representation shows anyway. (A clock
 * that steps back makes ids that sort before the last ones, as any time-ordered id would.) Random bytes are drawn 4 KiB at a time (one call per
 * id costs more than the insert).
 *
 * With `shard`, the last character names that shard (shared/shards.ts): 106 random bits are left.
 */
export function newJobId(now = Date.now(), shard?: number): string {
  if (offset >= pool.length) {
    pool = randomBytes(14 * POOL_IDS);
    offset = 0;
  }
  // Another millisecond (a later one, or an earlier one: a clock stepped back) starts a new sequence.
  if (now !== lastMs) {
    lastMs = now;
    seq = 0;
  } else if (++seq > 0xffff) {
    lastMs = ++now; // 65,536 ids in one millisecond: borrow the next one
    seq = 0;
  }
  const bytes = Buffer.allocUnsafe(22);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes.writeUInt16BE(seq, 6);
  pool.copy(bytes, 8, offset, offset + 14);
  offset += 14;
  const text = Buffer.from(bytes.toString('base64url'), 'latin1');
  for (let i = 0; i < text.length; i++) text[i] = TO_SORTED[text[i]!]!;
  const id = text.toString('latin1');
  return shard === undefined ? id : stampShard(id, shard);
}

/** A delivery's id: `msg_` and a fresh id in its job's shard (the same last character as the job's id). */
export function newDeliveryId(jobId: string): string {
  const shard = ID_ALPHABET.indexOf(jobId.charAt(jobId.length - 1));
  return `msg_${newJobId(Date.now(), shard >= 0 ? shard : undefined)}`;
}

/**
 * Job ids are exactly what newJobId makes (or made: ids before 2026-12 used `-` where `~` is now); anything
 * else is answered 404 without touching the store.
 */
export function isJobId(value: string): boolean {
  return /^[A-Za-z0-9_~-]{30}$/.test(value);
}

/** An id for this process's leases (visible in the admin API, so it says where it runs). */
export function newWorkerId(): string {
  return `${process.pid}-${randomBytes(6).toString('base64url')}`;
}

export function sha256(...parts: Array<string | Uint8Array | null>): string {
  const h = createHash('sha256');
  for (const part of parts) {
    h.update(part ?? '');
    h.update('\0');
  }
  return h.digest('hex');
}

/** Constant-time equality of two hex digests (or null = no credentials). */
export function sameOwner(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
