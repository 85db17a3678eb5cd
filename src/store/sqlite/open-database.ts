/** How the SQLite store opens its file, before migrating it (sqlite-store.ts). */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StoreUrlError } from '../errors.js';

/** Open `path` in WAL mode with synchronous=FULL (wal-sync.ts lowers it once it syncs the WAL itself). */
export function openDatabase(path: string): Database.Database {
  // A missing folder is most often a typo in --db: refuse rather than create a tree somewhere unexpected.
  if (path !== ':memory:' && !existsSync(dirname(path))) {
    throw new StoreUrlError(`sqlite:${path}: the directory ${resolve(dirname(path))} does not exist: create the directory first`);
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // While opening (nothing is served yet), a migration may wait for another process's write lock here.
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}
