import { StorageFullError } from '../errors.js';

/** The SQLite result code of a better-sqlite3 error (`SQLITE_FULL`, `SQLITE_BUSY_RECOVERY`…), if it is one. */
function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** Another connection (another process on the same file) holds a lock this statement needs: try again later. */
export function isBusy(error: unknown): boolean {
  return sqliteCode(error)?.startsWith('SQLITE_BUSY') === true;
}

/**
 * SQLite's error as the store reports it: "database or disk is full" (SQLITE_FULL, which SQLite reports for
 * a write() that got ENOSPC) is StorageFullError. SQLite has rolled the statement or transaction back, so
 * nothing of the write was committed, and the same write succeeds once space is freed.
 */
export function storeError(error: unknown): unknown {
  if (sqliteCode(error)?.startsWith('SQLITE_FULL') !== true) return error;
  return new StorageFullError(`the SQLite database is out of space: ${(error as Error).message}`, { cause: error });
}
