/**
 * Verifying a callback as its receiver (Standard Webhooks 1.0.0, as asyncgate signs them: see
 * `protocol/standard-webhooks.ts` for the spec's rules). The spec asks receivers to:
 * - recompute the signature of `{webhook-id}.{webhook-timestamp}.{body}` over the raw body bytes, and compare
 *   "using a constant time comparison function";
 * - accept any of the space-separated signatures (several during key rotation);
 * - reject timestamps outside a tolerance, "to prevent replay attacks".
 * Keys: `whsec_…` (HMAC-SHA256, `v1`), `whpk_…` (ed25519 public key, `v1a`: asyncgate publishes it at
 * `GET {prefix}/webhook-key`), or a callback's raw `secret` (its UTF-8 bytes, as a `Callback` header's `secret=` is used).
 */
import { createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { decodeBase64, DEFAULT_TOLERANCE_SECONDS, PUBLIC_KEY_PREFIX, secretKey, signedPrefix, SPKI_ED25519_PREFIX } from '../protocol/standard-webhooks.js';
import { WebhookVerificationError } from './errors.js';

/** Headers as node:http, fetch or a plain object give them. */
export type WebhookHeaders = Headers | Record<string, string | readonly string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, either way, in seconds. Default 300 (the spec's 5 minutes). */
  toleranceSeconds?: number;
  /** "Now", for tests and replays: a Date or unix seconds. */
  now?: Date | number;
}

type Key = { kind: 'v1'; hmac: Buffer } | { kind: 'v1a'; publicKey: KeyObject };

function parseKey(key: string): Key {
  if (key.startsWith(PUBLIC_KEY_PREFIX)) {
    const raw = decodeBase64(key.slice(PUBLIC_KEY_PREFIX.length));
    if (raw?.length !== 32) throw new TypeError('verifyWebhook: a whpk_ key must be base64 of 32 bytes');
    return { kind: 'v1a', publicKey: createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' }) };
  }
  try {
    return { kind: 'v1', hmac: secretKey(key) };
  } catch (error) {
    throw new TypeError(`verifyWebhook: ${(error as Error).message}`);
  }
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  let value = headers[name];
  if (value === undefined) {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === name) value = headers[key];
  }
  // A repeated field: its lines form one list (RFC 9110 §5.3), as space-separated signatures do.
  return typeof value === 'string' ? value : Array.isArray(value) ? value.join(' ') : undefined;
}

function bytesOf(body: string | Uint8Array | ArrayBuffer): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Check a callback's signature and freshness; return its payload — parsed JSON when the body is JSON
 * (by `Content-Type`, or by content when there is none), else the body as text. Throws
 * WebhookVerificationError (refused) or TypeError (a key that is not a key). `secret` may list several keys.
 */
export function verifyWebhook(
  secret: string | readonly string[],
  headers: WebhookHeaders,
  rawBody: string | Uint8Array | ArrayBuffer,
  options: VerifyWebhookOptions = {},
): unknown {
  const keys = (typeof secret === 'string' ? [secret] : secret).map(parseKey);
  if (keys.length === 0) throw new WebhookVerificationError('webhook-no-key', 'no key to verify with');
  const id = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestampText || !signatures) {
    throw new WebhookVerificationError('webhook-missing-headers', 'webhook-id, webhook-timestamp and webhook-signature are required');
  }
  if (!/^[0-9]{1,15}$/.test(timestampText)) throw new WebhookVerificationError('webhook-invalid-timestamp', `webhook-timestamp "${timestampText}" is not unix seconds`);
  const timestamp = Number(timestampText);
  const now = options.now === undefined ? Date.now() / 1000 : options.now instanceof Date ? options.now.getTime() / 1000 : options.now;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!Number.isFinite(now) || !Number.isFinite(tolerance)) throw new TypeError('verifyWebhook: now and toleranceSeconds must be finite numbers');
  if (now - timestamp > tolerance) throw new WebhookVerificationError('webhook-timestamp-too-old', `signed ${Math.round(now - timestamp)} s ago (tolerance ${tolerance} s)`);
  if (timestamp - now > tolerance) throw new WebhookVerificationError('webhook-timestamp-too-new', `signed ${Math.round(timestamp - now)} s in the future (tolerance ${tolerance} s)`);

  const body = bytesOf(rawBody);
  // The timestamp is signed in its canonical form, which is what signers produce.
  const content = Buffer.concat([signedPrefix(id, timestamp), body]);
  let valid = false;
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0) continue;
    const version = entry.slice(0, comma);
    // Strict base64: a signature with anything after it is not that signature.
    const signature = decodeBase64(entry.slice(comma + 1));
    if (signature === undefined) continue;
    for (const key of keys) {
      // Keep looping after a match, so the time taken does not say which signature matched.
      if (version === 'v1' && key.kind === 'v1') {
        if (sameBytes(signature, createHmac('sha256', key.hmac).update(content).digest())) valid = true;
      } else if (version === 'v1a' && key.kind === 'v1a' && signature.length === 64) {
        if (verify(null, content, key.publicKey, signature)) valid = true;
      }
    }
  }
  if (!valid) throw new WebhookVerificationError('webhook-invalid-signature', 'no signature matches the given key(s)');
  return payloadOf(body, header(headers, 'content-type'));
}

function payloadOf(body: Buffer, contentType: string | undefined): unknown {
  const text = body.toString('utf8');
  const json = contentType === undefined ? /^\s*[[{"]/.test(text) : /^[^;]*[/+]json\s*(;|$)/i.test(contentType);
  if (!json) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** asyncgate's ed25519 public key (`whpk_…`), for `v1a` verification without a shared secret: GET `{base}{prefix}/webhook-key`. */
export async function fetchWebhookKey(baseUrl: string | URL, prefix = '/_async', fetchImpl: typeof globalThis.fetch = globalThis.fetch): Promise<string> {
  const url = new URL(`${prefix}/webhook-key`, baseUrl);
  const res = await fetchImpl(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET ${url.href} answered ${res.status}`);
  const body = (await res.json()) as { publicKey?: unknown };
  if (typeof body.publicKey !== 'string' || !body.publicKey.startsWith(PUBLIC_KEY_PREFIX)) throw new Error(`GET ${url.href} gave no whpk_ key`);
  return body.publicKey;
}
