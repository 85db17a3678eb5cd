/**
 * VAPID (RFC 8292): the application server's P-256 key pair, which signs the JWT of every push request so a
 * push service knows the messages of a subscription come from the server the browser subscribed with (the
 * public key is the `applicationServerKey` a page passes to `pushManager.subscribe`).
 */
import webpush from 'web-push';

export interface VapidKeys {
  /** The uncompressed P-256 point (65 bytes), base64url: what `{prefix}/push-key` publishes. */
  publicKey: string;
  /** The private scalar (32 bytes), base64url. */
  privateKey: string;
}

/** Who runs this server (RFC 8292 §2.1 `sub`): a `mailto:` or `https:` URL a push service may contact. */
export const DEFAULT_VAPID_SUBJECT = 'mailto:asyncgate@localhost';

const B64URL = /^[A-Za-z0-9_-]+$/;

/** "PUBLIC,PRIVATE" (as `--vapid-keys` and the store keep them) → the pair; throws an Error saying what is wrong. */
export function parseVapidKeys(text: string): VapidKeys {
  const [publicKey = '', privateKey = '', ...rest] = text.split(',').map((s) => s.trim());
  if (rest.length > 0 || !B64URL.test(publicKey) || !B64URL.test(privateKey)) {
    throw new Error('VAPID keys are "PUBLIC,PRIVATE", both base64url (npx web-push generate-vapid-keys prints a pair)');
  }
  if (Buffer.from(publicKey, 'base64url').length !== 65) throw new Error('the VAPID public key must be a 65-byte uncompressed P-256 point');
  if (Buffer.from(privateKey, 'base64url').length !== 32) throw new Error('the VAPID private key must be 32 bytes');
  return { publicKey, privateKey };
}

/** The pair as `--vapid-keys` takes it and the store keeps it. */
export function formatVapidKeys(keys: VapidKeys): string {
  return `${keys.publicKey},${keys.privateKey}`;
}

/** A new key pair. */
export function newVapidKeys(): VapidKeys {
  const { publicKey, privateKey } = webpush.generateVAPIDKeys();
  return { publicKey, privateKey };
}

/** A subject a push service accepts: `mailto:` or `https:`; throws an Error otherwise. */
export function checkVapidSubject(subject: string): string {
  let url: URL;
  try {
    url = new URL(subject);
  } catch {
    throw new Error(`the VAPID subject must be a mailto: or https: URL, got "${subject}"`);
  }
  if (url.protocol !== 'mailto:' && url.protocol !== 'https:') throw new Error(`the VAPID subject must be a mailto: or https: URL, got "${subject}"`);
  return subject;
}
