import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { JobStore } from '../store/port.js';

/**
 * `Upstash-Signature` (docs/qstash.md#signatures): every request the QStash-compatible API sends, to a message's
 * destination or to its callbacks, carries a JWT (HS256) that `@upstash/qstash`'s `Receiver` verifies with the
 * current signing key, then the next one. Its claims: `iss` "Upstash", `sub` the URL called, `iat`/`nbf` now,
 * `exp` five minutes on, a random `jti`, and `body` the SHA-256 of the body, base64url.
 *
 * Each owner (QStash token) has its own pair of keys, kept in the store so every process and restart signs
 * alike. Rotating makes the next key current and a new key next: a receiver configured with both keeps
 * verifying throughout.
 */
export interface SigningKeys {
  current: string;
  next: string;
}

const ISSUER = 'Upstash';
const LIFETIME_S = 300;
const encoder = new TextEncoder();

/** A new signing key, shaped like QStash's (`sig_` and 28 random characters). */
export function newSigningKey(): string {
  return `sig_${randomBytes(21).toString('base64url')}`;
}

/** The store's secret name for an owner's keys (null: messages published without a token are not possible,
 * but the name must still be total). */
const secretName = (owner: string | null) => `qstash-signing-keys:${owner ?? ''}`;

/** Reads, creates and rotates owners' keys, caching what it read: keys change only by `rotate`, in any process;
 * a cached pair is re-read after a minute, and a receiver holds both keys meanwhile. */
export class UpstashKeys {
  private readonly cache = new Map<string, { keys: SigningKeys; at: number }>();

  constructor(
    private readonly store: Pick<JobStore, 'secret' | 'writeSecret' | 'readSecret'>,
    private readonly maxAgeMs = 60_000,
  ) {}

  async of(owner: string | null): Promise<SigningKeys> {
    const name = secretName(owner);
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < this.maxAgeMs) return hit.keys;
    const stored = await this.store.secret(name, () => JSON.stringify({ current: newSigningKey(), next: newSigningKey() }));
    const keys = JSON.parse(stored) as SigningKeys;
    this.cache.set(name, { keys, at: Date.now() });
    return keys;
  }

  /** The next key becomes current, and a new one next. */
  async rotate(owner: string | null): Promise<SigningKeys> {
    const { next } = await this.of(owner);
    const keys = { current: next, next: newSigningKey() };
    await this.store.writeSecret(secretName(owner), JSON.stringify(keys));
    this.cache.set(secretName(owner), { keys, at: Date.now() });
    return keys;
  }

  /** The `Upstash-Signature` of a request to `url` with `body`, signed with the owner's current key. */
  async sign(owner: string | null, url: string, body: Uint8Array | string): Promise<string> {
    return upstashSignature((await this.of(owner)).current, url, body);
  }
}

/** A signature with `key`, now (see the top of this file). */
export function upstashSignature(key: string, url: string, body: Uint8Array | string, nowMs = Date.now()): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return new SignJWT({ body: createHash('sha256').update(body).digest('base64url') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setSubject(url)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + LIFETIME_S)
    .setJti(`jwt_${randomUUID()}`)
    .sign(encoder.encode(key));
}
