import { StoreUrlError } from './errors.js';
import type { JobStore } from './port.js';
import { parsePgUrl, storeLabel } from './postgres/connect.js';
import { openPostgres, type OpenPostgresOptions } from './postgres/open.js';
import type { Peers } from './sharded/peers.js';
import { ShardedJobStore } from './sharded/sharded-store.js';
import { SqliteJobStore } from './sqlite/sqlite-store.js';

export { StoreUrlError };

export interface OpenStoreOptions extends OpenPostgresOptions {
  /** This process is one of several workers (`--workers N`): on SQLite, open the store's shards
   * (prepareShards made them) as worker `peers.index`. PostgreSQL is shared as it is. */
  shards?: { count: number; peers: Peers; staleAfterMs: number };
}

/** The file a `--db` URL names, when it names SQLite. */
export function sqlitePath(url: string): string | undefined {
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (/\.(db|sqlite3?)$/i.test(url) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  return undefined;
}

/**
 * Open the store a `--db` URL names: `sqlite:PATH` (or a bare path ending in .db / .sqlite), or
 * `postgres://user@host:5432/db?schema=NAME&pool=N`. Pending migrations are applied.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<JobStore> {
  const path = sqlitePath(url);
  if (path !== undefined) {
    const { shards } = options;
    if (shards) return new ShardedJobStore({ path, shards: shards.count, peers: shards.peers, staleAfterMs: shards.staleAfterMs });
    return new SqliteJobStore({ path });
  }
  if (POSTGRES_URL.test(url)) return openPostgres(url, options);
  throw notUnderstood(url);
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

function notUnderstood(url: string): StoreUrlError {
  return new StoreUrlError(`--db "${url}" is not understood: use sqlite:PATH (e.g. sqlite:./asyncgate.db) or postgres://user@host:5432/database`);
}

/**
 * Refuse a --db URL that names no store asyncgate has (or a PostgreSQL URL with a bad schema or pool),
 * without opening it. Returns the SQLite file it names, if it names one, and the store's label (as the
 * opened store's `label` would say it).
 */
export function checkStoreUrl(url: string): { path: string | undefined; label: string } {
  const path = sqlitePath(url);
  if (path !== undefined) return { path, label: `sqlite:${path}` };
  if (POSTGRES_URL.test(url)) return { path, label: storeLabel(parsePgUrl(url)) };
  throw notUnderstood(url);
}
