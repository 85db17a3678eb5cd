import type { Logger } from 'pino';
import { newSigningSecret } from '../protocol/standard-webhooks.js';
import type { JobStore } from '../store/port.js';

/** The name the server's generated webhook signing secret is kept under in the store. */
export const SIGNING_SECRET_NAME = 'signing-secret';

/**
 * The webhook signing secret kept in the store, generated on first use. Generating one is logged (info) with
 * where it is kept and how to see it, because receivers need it and it is otherwise only in the database.
 * The secret itself is never logged.
 */
export async function storedSigningSecret(store: JobStore, log: Logger): Promise<string> {
  let made: string | undefined;
  const secret = await store.secret(SIGNING_SECRET_NAME, () => (made = newSigningSecret()));
  // Compared, not just "create ran": on PostgreSQL two processes starting together may both create one, and
  // only the one whose insert won generated the secret in use.
  if (secret === made) {
    log.info(
      { db: store.label },
      `generated a webhook signing secret, kept in ${store.label}; \`asyncgate secret show --db <this --db>\` prints it (or pass --signing-secret)`,
    );
  }
  return secret;
}
