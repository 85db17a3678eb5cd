/** Thrown for a --db value asyncgate cannot open; the message says what is accepted. (A leaf module.) */
export class StoreUrlError extends Error {
  override readonly name = 'StoreUrlError';
  readonly code = 'invalid-store-url';
}

/**
 * The store has no space left (SQLite "database or disk is full", PostgreSQL disk-full): the write was not
 * committed. Transient: it succeeds again once space is freed.
 */
export class StorageFullError extends Error {
  override readonly name = 'StorageFullError';
  readonly code = 'storage-full';
}
