/**
 * Hop-by-hop fields: the ones a proxy must not forward (RFC 9110 §7.6.1).
 *
 * RFC 9110 §7.6.1:
 *   Connection        = #connection-option
 *   connection-option = token
 *
 * "Intermediaries MUST parse a received Connection header field before a message is forwarded and, for each
 * connection-option in this field, remove any header or trailer field(s) from the message with the same name
 * as the connection-option, and then remove the Connection header field itself."
 */
import { fieldLines, isToken } from './syntax.js';

// RFC 9110 §7.6.1 names the standard ones; keep-alive and proxy-connection are the HTTP/1.0-era ones that
// still show up and that no upstream should ever see.
const ALWAYS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/**
 * The fields that frame a message on one connection: recomputed for each hop, so never stored with a
 * response or copied into a callback.
 */
export const FRAMING_HEADERS: readonly string[] = ['content-length', 'transfer-encoding', 'connection', 'keep-alive'];

/** Header names (lower-case) that are hop-by-hop: connection, keep-alive, proxy-connection, proxy-authenticate, proxy-authorization, te, trailer, transfer-encoding, upgrade, plus every name listed in the Connection field(s). */
export function hopByHopNames(connectionField: string | readonly string[] | undefined): Set<string> {
  const names = new Set(ALWAYS);
  for (const line of fieldLines(connectionField)) {
    for (const item of line.split(',')) {
      const name = item.trim().toLowerCase();
      // Never throws: a garbled Connection field must not stop the request, and a non-token names no field.
      if (isToken(name)) names.add(name);
    }
  }
  return names;
}
