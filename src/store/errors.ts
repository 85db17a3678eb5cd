/** Thrown for a --db value asyncgate cannot open; the message says what is accepted. (A leaf module.) */
export class StoreUrlError extends Error {
  override readonly name = 'StoreUrlError';
  readonly code = 'invalid-store-url';
}
