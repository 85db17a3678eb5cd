import { StoreUrlError } from './errors.js';
import type { JobStore } from './port.js';
import { openPostgres, type OpenPostgresOptions } from './postgres/open.js';
import { SqliteJobStore } from './sqlite/sqlite-store.js';

export { StoreUrlError };

export type OpenStoreOptions = OpenPostgresOptions;

/**
 * Open the store a `--db` URL names: `sqlite:PATH` (or a bare path ending in .db / .sqlite), or
 * `postgres://user@host:5432/db?schema=NAME&pool=N`. Pending migrations are applied.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<JobStore> {
  if (url.startsWith('sqlite:')) return new SqliteJobStore({ path: url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') });
  if (/\.(db|sqlite3?)$/i.test(url)) return new SqliteJobStore({ path: url });
  if (/^postgres(ql)?:\/\//i.test(url)) return openPostgres(url, options);
  throw new StoreUrlError(
    `--db "${url}" is not understood: use sqlite:PATH (e.g. sqlite:./asyncgate.db) or postgres://user@host:5432/database`,
  );
}
