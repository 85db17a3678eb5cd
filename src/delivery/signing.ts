/**
 * Signing callback deliveries with Standard Webhooks (the rules, the key formats and the signed content are in
 * protocol/standard-webhooks.ts): v1 HMAC-SHA256 signatures under each server or callback secret, and v1a
 * ed25519 signatures when the server has an ed25519 key.
 */
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  decodeBase64,
  PKCS8_ED25519_PREFIX,
  PRIVATE_KEY_PREFIX,
  PUBLIC_KEY_PREFIX,
  secretKey,
  signedPrefix,
  SPKI_ED25519_PREFIX,
} from '../protocol/standard-webhooks.js';

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
