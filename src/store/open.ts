import type { JobStore } from './port.js';
import { SqliteJobStore } from './sqlite/sqlite-store.js';

/** Thrown for a --db value asyncgate cannot open; the message says what is accepted. */
export class StoreUrlError extends Error {}

/** Open the store a `--db` URL names: `sqlite:PATH` (or a bare path ending in .db / .sqlite). */
export async function openStore(url: string): Promise<JobStore> {
  if (url.startsWith('sqlite:')) return new SqliteJobStore({ path: url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') });
  if (/\.(db|sqlite3?)$/i.test(url)) return new SqliteJobStore({ path: url });
  if (/^postgres(ql)?:/i.test(url)) throw new StoreUrlError('PostgreSQL is not supported yet; use --db sqlite:PATH');
  throw new StoreUrlError(`--db "${url}" is not understood: use sqlite:PATH (e.g. sqlite:./asyncgate.db)`);
}
