import type { IncomingHttpHeaders } from 'node:http';
import { sha256 } from './ids.js';

/**
 * Who submitted a job: a hash of the credentials on the request — the configured header when
 * set, else `Authorization`, else `Cookie`. null when there are none: then the unguessable id is the key.
 * The hash is salted per installation so a leaked database does not reveal token hashes usable elsewhere.
 */
export function credentialOwner(headers: IncomingHttpHeaders, salt: string, header?: string): string | null {
  const names = header ? [header.toLowerCase()] : ['authorization', 'cookie'];
  for (const name of names) {
    const value = headers[name];
    if (value !== undefined && value !== '') return sha256(salt, name, Array.isArray(value) ? value.join('\n') : value);
  }
  return null;
}
