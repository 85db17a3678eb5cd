import { existsSync } from 'node:fs';
import { RETIRING_SIGNING_SECRET_NAME, SIGNING_SECRET_NAME, SIGNING_SECRETS_RELOAD_MS } from '../app/signing-secret.js';
import { loadConfigFile } from '../config/settings.js';
import { loadEd25519Signer } from '../delivery/signing.js';
import { newSigningSecret } from '../protocol/standard-webhooks.js';
import { openStore } from '../store/open.js';
import type { JobStore } from '../store/port.js';
import { parseFlagsAndArgs, UsageError } from './flags.js';

export const SECRET_HELP = `Usage: asyncgate secret show [--db URL] [--config FILE]
       asyncgate secret rotate [--finish] [--db URL] [--config FILE]

show    Print the webhook signing secret that asyncgate generated and keeps in the database (callback
        receivers verify signatures with it), the secret a rotation is retiring (while one is under
        way), and the ed25519 public key when the database has one (--sign-ed25519). Nothing is created:
        a database without a generated secret says so and exits 1.
rotate  Start a rotation: generate a new signing secret and keep it with the old one. Callbacks are
        signed with both (two v1 signatures in webhook-signature), so each receiver verifies with
        either and can move to the new one at its pace. A running server picks the change up within
        30 s (it re-reads the stored secrets every 30 s), a starting one at once. Prints the new secret.
rotate --finish
        End the rotation: forget the old secret; from then on (within 30 s) only the new one signs.

A server started with --signing-secret (or $ASYNCGATE_SIGNING_SECRET) signs with those keys instead of the
stored ones, and rotates by being restarted with "new,old", then "new".

Options:
  --db URL          sqlite:PATH (default sqlite:./asyncgate.db) or postgres://user@host:5432/db
  --config FILE     read "db" from a config file; --db wins
  --finish          rotate: end the rotation under way
  -h, --help        show this help

Output, one line each, ready for an environment file:
  ASYNCGATE_SIGNING_SECRET=whsec_…            (the current secret; the new one after rotate)
  ASYNCGATE_SIGNING_SECRET_RETIRING=whsec_…   (only while a rotation is under way)
  ASYNCGATE_WEBHOOK_PUBLIC_KEY=whpk_…         (only when there is an ed25519 key)

Exit codes: 0 done, 1 nothing stored / no database / a rotation already under way (rotate) or none
(rotate --finish), 2 usage error.
`;

const OPTIONS = {
  db: { type: 'string' },
  config: { type: 'string' },
  finish: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The SQLite file a `--db` URL names, as openStore reads it; undefined for PostgreSQL. */
function sqlitePath(db: string): string | undefined {
  if (db.startsWith('sqlite:')) return db.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (/\.(db|sqlite3?)$/i.test(db) && !/^postgres(ql)?:\/\//i.test(db)) return db;
  return undefined;
}

const fail = (message: string) => {
  process.stderr.write(`asyncgate: ${message}\n`);
  return 1;
};

/** `asyncgate secret show | rotate [--finish]`. Returns the exit code. */
export async function secret(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseFlagsAndArgs(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(SECRET_HELP);
    return 0;
  }
  const command = positionals.join(' ');
  if (command !== 'show' && command !== 'rotate') {
    throw new UsageError(positionals.length ? `unknown secret command '${command}'` : 'say what to do: asyncgate secret show, or asyncgate secret rotate');
  }
  if (v.finish && command !== 'rotate') throw new UsageError('--finish goes with secret rotate');
  const file = v.config ? await loadConfigFile(v.config) : undefined;
  const db = v.db ?? file?.db ?? 'sqlite:./asyncgate.db';
  const path = sqlitePath(db);
  // Opening a SQLite path creates the file: a mistyped --db must not leave an empty database behind.
  if (path !== undefined && !existsSync(path)) return fail(`no database at ${path}: is --db the one the server uses?`);
  const store = await openStore(db, { giveUpAfterMs: 0 });
  try {
    if (command === 'show') return await show(store);
    return v.finish ? await finishRotation(store, db) : await rotate(store, db);
  } finally {
    await store.close();
  }
}

const noSecret = (store: JobStore) =>
  fail(`${store.label} holds no generated signing secret: \`asyncgate serve\` generates one on its first start, unless given --signing-secret`);

async function show(store: JobStore): Promise<number> {
  const signing = await store.readSecret(SIGNING_SECRET_NAME);
  const retiring = await store.readSecret(RETIRING_SIGNING_SECRET_NAME);
  const ed25519 = await store.readSecret('ed25519-key');
  if (signing === undefined && ed25519 === undefined) return noSecret(store);
  if (signing !== undefined) process.stdout.write(`ASYNCGATE_SIGNING_SECRET=${signing}\n`);
  if (signing !== undefined && retiring !== undefined) process.stdout.write(`ASYNCGATE_SIGNING_SECRET_RETIRING=${retiring}\n`);
  if (ed25519 !== undefined) process.stdout.write(`ASYNCGATE_WEBHOOK_PUBLIC_KEY=${loadEd25519Signer(ed25519).publicKey}\n`);
  return 0;
}

/** Keep the current secret as the retiring one, then make a new current one: both sign until --finish. */
async function rotate(store: JobStore, db: string): Promise<number> {
  const current = await store.readSecret(SIGNING_SECRET_NAME);
  if (current === undefined) return noSecret(store);
  if ((await store.readSecret(RETIRING_SIGNING_SECRET_NAME)) !== undefined) {
    return fail(`a rotation is already under way in ${store.label}: finish it first (asyncgate secret rotate --finish --db ${db})`);
  }
  const next = newSigningSecret();
  // In this order, so that a crash in between leaves the old secret signing (twice), never lost.
  await store.writeSecret(RETIRING_SIGNING_SECRET_NAME, current);
  await store.writeSecret(SIGNING_SECRET_NAME, next);
  process.stdout.write(`ASYNCGATE_SIGNING_SECRET=${next}\nASYNCGATE_SIGNING_SECRET_RETIRING=${current}\n`);
  process.stderr.write(
    `asyncgate: rotation started in ${store.label}: callbacks are signed with the new and the old secret, by a running server within ${SIGNING_SECRETS_RELOAD_MS / 1000} s.\n` +
      `Give receivers the new secret, then end the rotation: asyncgate secret rotate --finish --db ${db}\n`,
  );
  return 0;
}

async function finishRotation(store: JobStore, db: string): Promise<number> {
  const retiring = await store.readSecret(RETIRING_SIGNING_SECRET_NAME);
  if (retiring === undefined) return fail(`no rotation is under way in ${store.label} (start one: asyncgate secret rotate --db ${db})`);
  await store.writeSecret(RETIRING_SIGNING_SECRET_NAME, null);
  const current = await store.readSecret(SIGNING_SECRET_NAME);
  if (current !== undefined) process.stdout.write(`ASYNCGATE_SIGNING_SECRET=${current}\n`);
  process.stderr.write(`asyncgate: rotation finished in ${store.label}: the old secret is forgotten, and within ${SIGNING_SECRETS_RELOAD_MS / 1000} s only the new one signs\n`);
  return 0;
}
