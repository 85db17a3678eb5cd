/**
 * The one error protocol/ throws: a header (or body field) that does not follow its grammar.
 * `field` names what was malformed so the problem+json answer can say so (RFC 9457 §3.1 "detail").
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code = 'malformed-field';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
