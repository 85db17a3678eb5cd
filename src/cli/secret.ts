import { existsSync } from 'node:fs';
import { SIGNING_SECRET_NAME } from '../app/signing-secret.js';
import { loadConfigFile } from '../config/settings.js';
import { loadEd25519Signer } from '../delivery/signing.js';
import { openStore } from '../store/open.js';
import type { JobStore } from '../store/port.js';
import { parseFlagsAndArgs, UsageError } from './flags.js';

export const SECRET_HELP = `Usage: asyncgate secret show [--db URL] [--config FILE]

Print the webhook signing secret that asyncgate generated and keeps in the database (callback receivers
verify signatures with it), and the ed25519 public key when the database has one (--sign-ed25519).
Nothing is created: a database without a generated secret says so and exits 1. A server started with
--signing-secret (or $ASYNCGATE_SIGNING_SECRET) signs with those keys instead of the stored one.

Options:
  --db URL          sqlite:PATH (default sqlite:./asyncgate.db) or postgres://user@host:5432/db
  --config FILE     read "db" from a config file; --db wins
  -h, --help        show this help

Output, one line each, ready for an environment file:
  ASYNCGATE_SIGNING_SECRET=whsec_…
  ASYNCGATE_WEBHOOK_PUBLIC_KEY=whpk_…      (only when there is an ed25519 key)
`;

const OPTIONS = {
  db: { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Thrown by a probe's `create`: the store has no such secret, and none is made. */
class NotStored extends Error {}

/** The secret stored under `name`, or undefined; never creates one. */
async function stored(store: JobStore, name: string): Promise<string | undefined> {
  try {
    return await store.secret(name, () => {
      throw new NotStored(name);
    });
  } catch (error) {
    if (error instanceof NotStored) return undefined;
    throw error;
  }
}

/** The SQLite file a `--db` URL names, as openStore reads it; undefined for PostgreSQL. */
function sqlitePath(db: string): string | undefined {
  if (db.startsWith('sqlite:')) return db.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (/\.(db|sqlite3?)$/i.test(db) && !/^postgres(ql)?:\/\//i.test(db)) return db;
  return undefined;
}

/** `asyncgate secret show`: print the stored signing secret (and ed25519 public key). Returns the exit code. */
export async function secret(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseFlagsAndArgs(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(SECRET_HELP);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'show') {
    throw new UsageError(positionals.length ? `unknown secret command '${positionals.join(' ')}'` : 'say what to do: asyncgate secret show');
  }
  const file = v.config ? await loadConfigFile(v.config) : undefined;
  const db = v.db ?? file?.db ?? 'sqlite:./asyncgate.db';
  const path = sqlitePath(db);
  // Opening a SQLite path creates the file: a mistyped --db must not leave an empty database behind.
  if (path !== undefined && !existsSync(path)) {
    process.stderr.write(`asyncgate: no database at ${path}: is --db the one the server uses?\n`);
    return 1;
  }
  const store = await openStore(db, { giveUpAfterMs: 0 });
  try {
    const signing = await stored(store, SIGNING_SECRET_NAME);
    const ed25519 = await stored(store, 'ed25519-key');
    if (signing === undefined && ed25519 === undefined) {
      process.stderr.write(`asyncgate: ${store.label} holds no generated signing secret: \`asyncgate serve\` generates one on its first start, unless given --signing-secret\n`);
      return 1;
    }
    if (signing !== undefined) process.stdout.write(`ASYNCGATE_SIGNING_SECRET=${signing}\n`);
    if (ed25519 !== undefined) process.stdout.write(`ASYNCGATE_WEBHOOK_PUBLIC_KEY=${loadEd25519Signer(ed25519).publicKey}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
