import { createLogger } from '../app/logger.js';
import { loadConfigFile } from '../config/settings.js';
import { openStore, sqlitePath } from '../store/open.js';
import type { MigrationOutcome } from '../store/port.js';
import { existingShards, shardPath } from '../store/sharded/shard-files.js';
import { durationFlag, parseFlags } from './flags.js';

export const MIGRATE_HELP = `Usage: asyncgate migrate [--db URL] [--config FILE]

Create or upgrade asyncgate's tables, then exit. "serve" does the same on start-up; run this first when
your deploy applies schema changes as their own step, or to check that the database is reachable.
Processes starting together are safe: an advisory lock applies each migration once. A SQLite
database that --workers N split into shards (jobs.db, jobs.shard1.db, …) has each of them migrated.

Options:
  --db URL          sqlite:PATH (default sqlite:./asyncgate.db) or postgres://user@host:5432/db
                    (?schema=NAME to use a schema other than public, &pool=N connections)
  --config FILE     read "db" from a config file; --db wins
  --wait DURATION   how long to wait for PostgreSQL to come up (default 0: fail at once)
  -h, --help        show this help

Example:
  asyncgate migrate --db postgres://postgres@127.0.0.1:5432/asyncgate
`;

const OPTIONS = {
  db: { type: 'string' },
  config: { type: 'string' },
  wait: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `asyncgate migrate`: apply pending migrations and report what was done. Returns the exit code. */
export async function migrate(argv: string[]): Promise<number> {
  const { values: v } = parseFlags(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(MIGRATE_HELP);
    return 0;
  }
  const file = v.config ? await loadConfigFile(v.config) : undefined;
  const db = v.db ?? file?.db ?? 'sqlite:./asyncgate.db';
  const wait = durationFlag('wait', v.wait) ?? 0;
  const log = createLogger();
  const store = await openStore(db, {
    giveUpAfterMs: wait,
    onRetry: (message) => log.warn(message),
  });
  const report = (label: string, { from, to }: MigrationOutcome) =>
    process.stdout.write(from === to ? `${label}: schema is up to date (migration ${to})\n` : `${label}: applied migrations ${from + 1}..${to} (now at ${to})\n`);
  try {
    report(store.label, store.migration);
  } finally {
    await store.close();
  }
  // The other shards of a SQLite database that --workers N made (docs/operations/workers.md).
  const path = sqlitePath(db);
  for (let k = 1; path !== undefined && k < existingShards(path); k++) {
    const shard = await openStore(`sqlite:${shardPath(path, k)}`);
    report(shard.label, shard.migration);
    await shard.close();
  }
  return 0;
}
