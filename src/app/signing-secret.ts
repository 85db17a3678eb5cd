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

/**
 * Where a rotation keeps the secret it is retiring (`asyncgate secret rotate`): while it is there, callbacks are
 * signed with both, so receivers can move to the new one at their pace; `secret rotate --finish` forgets it.
 */
export const RETIRING_SIGNING_SECRET_NAME = 'signing-secret-retiring';

/** How often a running server re-reads the stored secrets, so a rotation reaches it without a restart. */
export const SIGNING_SECRETS_RELOAD_MS = 30_000;

/** The stored signing secrets: the current one (generated on first use), then the one a rotation is retiring. */
export async function storedSigningSecrets(store: JobStore, log: Logger): Promise<string[]> {
  const current = await storedSigningSecret(store, log);
  return withRetiring(current, await store.readSecret(RETIRING_SIGNING_SECRET_NAME));
}

function withRetiring(current: string, retiring: string | undefined): string[] {
  return retiring === undefined || retiring === current ? [current] : [current, retiring];
}

/**
 * Re-read the stored secrets every `everyMs` and hand them to `use` when they changed (a rotation started or
 * finished elsewhere). Returns the function that stops it. A failed read keeps the secrets in use.
 */
export function reloadSigningSecrets(store: JobStore, initial: readonly string[], use: (secrets: readonly string[]) => void, log: Logger, everyMs = SIGNING_SECRETS_RELOAD_MS): () => void {
  let inUse = initial.join(' ');
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      const current = await store.readSecret(SIGNING_SECRET_NAME);
      if (current === undefined) return; // never forget the secret in use because a row went missing
      const secrets = withRetiring(current, await store.readSecret(RETIRING_SIGNING_SECRET_NAME));
      if (secrets.join(' ') === inUse) return;
      inUse = secrets.join(' ');
      use(secrets);
      log.info({ secrets: secrets.length }, secrets.length > 1 ? 'signing rotation: callbacks are now signed with the new and the retiring secret' : 'signing secrets reloaded: callbacks are signed with one secret');
    })()
      .catch((error: unknown) => log.warn({ err: error }, 'could not re-read the signing secrets; keeping the ones in use'))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
