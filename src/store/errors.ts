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

/** A callback registration past the most a job may have (`--max-callbacks`): refused inside the store's
 * transaction, so that registrations made at once through several processes cannot all pass the count. */
export class CallbackLimitError extends Error {
  override readonly name = 'CallbackLimitError';
  readonly code = 'too-many-callbacks';
  constructor(readonly maxPerJob: number) {
    super(`this job already has ${maxPerJob} callbacks, the most a job may have`);
  }
}
