import { ProtocolError } from '../protocol/errors.js';
import { AsyncgateError } from './asyncgate-error.js';
import type { ProblemType } from './codes.js';

/** Run a protocol parser; a ProtocolError (malformed client input) becomes the 400 problem `type`. */
export function asProblem<T>(type: ProblemType, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ProtocolError) throw new AsyncgateError(type, error.message);
    throw error;
  }
}
