import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A job id: 128 random bits, base64url (22 characters). Unguessable, since an id alone may grant access. */
export function newJobId(): string {
  return randomBytes(16).toString('base64url');
}

/** Job ids are exactly what newJobId makes; anything else is answered 404 without touching the store. */
export function isJobId(value: string): boolean {
  return /^[A-Za-z0-9_-]{22}$/.test(value);
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
