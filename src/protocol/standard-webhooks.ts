/**
 * Standard Webhooks 1.0.0 (https://www.standardwebhooks.com): the key formats and the signed content that a
 * sender (delivery/signing.ts) and a receiver (client/verify-webhook.ts) must agree on byte for byte, as the
 * reference `standardwebhooks` npm package computes them. The spec's rules:
 *
 * - "The content to be signed is therefore: `{msg_id}.{timestamp}.{payload}`." — the metadata and the body,
 *   "concatenated (delimited by full-stops)". "It's important that both the message id and the timestamp not
 *   be user controlled, or at the very least not be allowed to include any `.`".
 * - Headers: "`webhook-id`: the unique webhook identifier", "`webhook-timestamp`: integer unix timestamp
 *   (seconds since epoch)", "`webhook-signature`: the signature(s) of this webhook" — "a space delimited list
 *   of signatures", so that during "zero downtime secret rotation" the webhook "is signed both using the
 *   current key, and using an old key".
 * - Symmetric: `HMAC-SHA256`, secret "Random. At least 24 bytes", "base64 encoded, prefixed with `whsec_`",
 *   signature identifier `v1`: "v1, followed by a comma (`,`), followed by the base64 encoded signature".
 * - Asymmetric: `ed25519`, "base64 encoded, prefixed with `whsk_` for the secret key, and `whpk_` for the
 *   public key", signature identifier `v1a`.
 * - Verifying: "use a constant time comparison function", and check that `webhook-timestamp` "is within some
 *   allowable tolerance of the current timestamp to prevent replay attacks" (the package: 5 minutes either way).
 *
 * The body is signed as the exact bytes sent. (The `standardwebhooks` JS package decodes a Buffer body as
 * UTF-8 before signing, so it only agrees for bodies that are valid UTF-8; the spec and the other reference
 * libraries sign raw bytes.) The timestamp is signed as its canonical decimal form, as the package re-prints
 * the parsed number.
 */
import { randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
export const PUBLIC_KEY_PREFIX = 'whpk_';
export const PRIVATE_KEY_PREFIX = 'whsk_';
/** The spec's replay window, either way, in seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
/** DER header of a PKCS8 Ed25519 private key (RFC 8410 §7): 16 bytes, then the 32-byte seed. */
export const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER header of an SPKI Ed25519 public key (RFC 8410 §4): 12 bytes, then the 32-byte key. */
export const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Standard base64 (`+/`), padding optional: what the package's decoder accepts, minus its silent garbage. */
export function decodeBase64(text: string): Buffer | undefined {
  const unpadded = text.replace(/={1,2}$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(unpadded) || unpadded.length % 4 === 1) return undefined;
  if (unpadded.length !== text.length && text.length % 4 !== 0) return undefined;
  return Buffer.from(unpadded, 'base64');
}

/**
 * An HMAC signing key. `whsec_`-prefixed base64 secrets decode to their bytes; any other string is used as raw
 * UTF-8 bytes (a callback's own `secret` parameter). A receiver using the `standardwebhooks` package with a raw
 * secret must hand it the base64 of those UTF-8 bytes.
 * Throws a RangeError for an empty key or a `whsec_` secret that is not base64 (validate callback secrets with
 * this when they arrive, not at delivery time).
 */
export function secretKey(secret: string): Buffer {
  let key: Buffer;
  if (secret.startsWith(SECRET_PREFIX)) {
    const decoded = decodeBase64(secret.slice(SECRET_PREFIX.length));
    if (decoded === undefined) throw new RangeError('Signing secret: whsec_ secret is not valid base64');
    key = decoded;
  } else {
    key = Buffer.from(secret, 'utf8');
  }
  if (key.length === 0) throw new RangeError('Signing secret is empty');
  return key;
}

/** Whether `secretKey` accepts this secret: for judging client input up front (400, not a failed delivery). */
export function isValidSecret(secret: string): boolean {
  try {
    secretKey(secret);
    return true;
  } catch {
    return false;
  }
}

/** A new server secret: 'whsec_' + base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** The bytes before the body in the signed content: `{msg_id}.{timestamp}.`. */
export function signedPrefix(id: string, timestamp: number): Buffer {
  return Buffer.from(`${id}.${timestamp}.`, 'utf8');
}
