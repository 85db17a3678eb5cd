/**
 * Standard Webhooks signatures for callback deliveries (https://www.standardwebhooks.com, spec 1.0.0, byte for
 * byte as the reference `standardwebhooks` npm package computes them). The spec's rules:
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
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
const PUBLIC_KEY_PREFIX = 'whpk_';
const PRIVATE_KEY_PREFIX = 'whsk_';
const DEFAULT_TOLERANCE_SEC = 5 * 60;
/** DER header of a PKCS8 Ed25519 private key (RFC 8410): 16 bytes, then the 32-byte seed. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER header of an SPKI Ed25519 public key (RFC 8410): 12 bytes, then the 32-byte key. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Standard base64 (`+/`), padding optional: what the package's decoder accepts, minus its silent garbage. */
function decodeBase64(text: string): Buffer | undefined {
  const unpadded = text.replace(/={1,2}$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(unpadded) || unpadded.length % 4 === 1) return undefined;
  if (unpadded.length !== text.length && text.length % 4 !== 0) return undefined;
  return Buffer.from(unpadded, 'base64');
}

/**
 * A signing key. `whsec_`-prefixed base64 secrets decode to their bytes; any other string is used as raw UTF-8
 * bytes (a callback's own `secret` parameter, seed 000). A receiver using the `standardwebhooks` package with
 * a raw secret must hand it the base64 of those UTF-8 bytes.
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

/** A new server secret: 'whsec_' + base64 of 32 random bytes. */
/** Whether `secretKey` accepts this secret: for judging client input up front (400, not a failed delivery). */
export function isValidSecret(secret: string): boolean {
  try {
    secretKey(secret);
    return true;
  } catch {
    return false;
  }
}

export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

export interface Ed25519Signer {
  privateKey: KeyObject;
  /** 'whpk_' + base64 of the raw 32-byte public key, as Standard Webhooks publishes it. */
  publicKey: string;
}

function signerFor(privateKey: KeyObject): Ed25519Signer {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('Ed25519 signer: not an ed25519 private key');
  }
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: PUBLIC_KEY_PREFIX + spki.subarray(SPKI_ED25519_PREFIX.length).toString('base64') };
}

/**
 * Create an ed25519 key pair for v1a signatures. `stored` is the private key to keep in configuration:
 * 'whsk_' + base64 of its PKCS8 DER encoding (48 bytes); loadEd25519Signer restores the signer from it.
 */
export function newEd25519Signer(): { signer: Ed25519Signer; stored: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return { signer: signerFor(privateKey), stored: PRIVATE_KEY_PREFIX + der.toString('base64') };
}

/**
 * Restore a signer from a stored private key: 'whsk_' + base64 of either the PKCS8 DER (what newEd25519Signer
 * stores), the raw 32-byte seed (RFC 8032's private key), or the 64-byte seed‖public key of libsodium/Go
 * (the public half must match the seed). Throws on anything else.
 */
export function loadEd25519Signer(stored: string): Ed25519Signer {
  const bytes = stored.startsWith(PRIVATE_KEY_PREFIX) ? decodeBase64(stored.slice(PRIVATE_KEY_PREFIX.length)) : undefined;
  if (bytes === undefined) throw new RangeError('Ed25519 key: expected whsk_ followed by base64');
  let der: Buffer;
  if (bytes.length === 32 || bytes.length === 64) {
    der = Buffer.concat([PKCS8_ED25519_PREFIX, bytes.subarray(0, 32)]);
  } else if (bytes.length === PKCS8_ED25519_PREFIX.length + 32) {
    der = bytes;
  } else {
    throw new RangeError('Ed25519 key: expected a 32-byte seed, a 64-byte seed and public key, or PKCS8 DER');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    throw new RangeError('Ed25519 key: not an ed25519 PKCS8 key');
  }
  const signer = signerFor(privateKey);
  if (bytes.length === 64 && PUBLIC_KEY_PREFIX + bytes.subarray(32).toString('base64') !== signer.publicKey) {
    throw new RangeError('Ed25519 key: the public half does not belong to the seed');
  }
  return signer;
}

export interface SignInput {
  /** The webhook-id: visible ASCII without `.` (the spec forbids full-stops in signed metadata). */
  id: string;
  /** Unix seconds, a non-negative integer. */
  timestamp: number;
  body: Uint8Array | string;
  /** HMAC keys (see secretKey), several during rotation. */
  secrets: readonly string[];
  ed25519?: Ed25519Signer;
}

function signedPrefix(id: string, timestamp: number): Buffer {
  return Buffer.from(`${id}.${timestamp}.`, 'utf8');
}

function bodyBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

function hmacBase64(key: Buffer, prefix: Buffer, body: Uint8Array): string {
  return createHmac('sha256', key).update(prefix).update(body).digest('base64');
}

/**
 * The three headers: webhook-id, webhook-timestamp, webhook-signature ("v1,<base64 HMAC-SHA256 of
 * `${id}.${timestamp}.${body}`>" for each secret, plus "v1a,<base64 ed25519 signature of the same content>"
 * when ed25519 is given), space-separated.
 * Throws (RangeError/TypeError) on an invalid id, timestamp or secret, or when there is nothing to sign with.
 */
export function signWebhook(input: SignInput): WebhookHeaders {
  const { prefix, body, signatures } = hmacSignatures(input);
  if (input.ed25519 !== undefined) signatures.push(`v1a,${sign(null, Buffer.concat([prefix, body]), input.ed25519.privateKey).toString('base64')}`);
  return headersOf(input, signatures);
}

/**
 * The same headers, byte for byte (Ed25519 signatures are deterministic), with the Ed25519 signature computed
 * on libuv's thread pool: at about 45 µs a callback it is the costliest step of a delivery on the event loop.
 */
export async function signWebhookOffThread(input: SignInput): Promise<WebhookHeaders> {
  const { prefix, body, signatures } = hmacSignatures(input);
  const key = input.ed25519?.privateKey;
  if (key !== undefined) {
    const signature = await new Promise<Buffer>((resolve, reject) =>
      sign(null, Buffer.concat([prefix, body]), key, (error, value) => (error ? reject(error) : resolve(value))),
    );
    signatures.push(`v1a,${signature.toString('base64')}`);
  }
  return headersOf(input, signatures);
}

/** A type, not an interface, so that it stays assignable to `Record<string, string>`. */
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** Validates the input and computes the v1 (HMAC) signatures. */
function hmacSignatures(input: SignInput): { prefix: Buffer; body: Uint8Array; signatures: string[] } {
  const { id, timestamp, secrets, ed25519 } = input;
  if (!/^[\x21-\x2d\x2f-\x7e]+$/.test(id)) throw new RangeError('webhook-id must be visible ASCII without "."');
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError('webhook-timestamp must be whole unix seconds');
  if (secrets.length === 0 && ed25519 === undefined) throw new RangeError('Nothing to sign with: no secrets and no ed25519 key');
  if (ed25519 !== undefined && ed25519.privateKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('ed25519 signer holds a non-ed25519 key');
  }
  const prefix = signedPrefix(id, timestamp);
  const body = bodyBytes(input.body);
  const signatures: string[] = [];
  for (const secret of secrets) {
    const signature = `v1,${hmacBase64(secretKey(secret), prefix, body)}`;
    if (!signatures.includes(signature)) signatures.push(signature);
  }
  return { prefix, body, signatures };
}

function headersOf(input: SignInput, signatures: string[]): WebhookHeaders {
  return { 'webhook-id': input.id, 'webhook-timestamp': String(input.timestamp), 'webhook-signature': signatures.join(' ') };
}

function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  let value: unknown = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (value === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === name) {
        value = headers[key];
        break;
      }
    }
  }
  return typeof value === 'string' ? value : undefined;
}

/**
 * Verify like a receiver would (used by asyncgate's own client later): true if the three headers are present
 * (names in any case), `webhook-timestamp` is decimal digits within `toleranceSec` (default 300) of `nowSec`
 * either way, and any `v1` signature in `webhook-signature` equals (constant-time compare) the HMAC under one of
 * `secrets`. Other versions (`v1a`) are skipped; unusable secrets are skipped. Returns false rather than
 * throwing on malformed input.
 */
export function verifyWebhook(
  secrets: readonly string[],
  headers: Record<string, string | undefined>,
  body: Uint8Array | string,
  nowSec: number = Math.floor(Date.now() / 1000),
  toleranceSec: number = DEFAULT_TOLERANCE_SEC,
): boolean {
  try {
    if (typeof headers !== 'object' || headers === null) return false;
    const id = header(headers, 'webhook-id');
    const timestampText = header(headers, 'webhook-timestamp');
    const signatureList = header(headers, 'webhook-signature');
    if (!id || !timestampText || !signatureList) return false;
    if (!/^[0-9]{1,16}$/.test(timestampText)) return false;
    const timestamp = Number(timestampText);
    if (!Number.isSafeInteger(timestamp) || !Number.isFinite(nowSec) || !Number.isFinite(toleranceSec)) return false;
    if (nowSec - timestamp > toleranceSec || timestamp - nowSec > toleranceSec) return false;
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) return false;

    const passed: Buffer[] = [];
    for (const entry of signatureList.split(' ')) {
      const comma = entry.indexOf(',');
      if (comma !== -1 && entry.slice(0, comma) === 'v1') passed.push(Buffer.from(entry.slice(comma + 1), 'utf8'));
    }
    if (passed.length === 0) return false;

    const prefix = signedPrefix(id, timestamp);
    const bytes = bodyBytes(body);
    let matched = false;
    for (const secret of secrets) {
      let key: Buffer;
      try {
        key = secretKey(secret);
      } catch {
        continue;
      }
      const expected = Buffer.from(hmacBase64(key, prefix, bytes), 'utf8');
      for (const candidate of passed) {
        // Lengths are public (every v1 signature is 44 characters); only equal-length contents are compared.
        if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
      }
    }
    return matched;
  } catch {
    return false;
  }
}
