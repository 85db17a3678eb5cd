import type { IncomingHttpHeaders } from 'node:http';
import type { RouteRule } from '../config/routes.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { Dialect } from '../model.js';
import { parseAcceptAsynchronous } from '../protocol/accept-asynchronous.js';
import { ProtocolError } from '../protocol/errors.js';
import { parsePrefer, preferredWait } from '../protocol/prefer.js';

export type Negotiation =
  | { async: false }
  | {
      async: true;
      dialect: Dialect;
      /** Seconds to race completion against before answering 202 (RFC 7240 §4.3), already capped. */
      waitSeconds: number;
      /** seed 004 polling: the monitor answers 303 once done. */
      redirectWhenDone: boolean;
    };

/**
 * Decide whether a proxied request gets an asynchronous answer (SPEC §1): the client's dialect, weighed by
 * the route rule. Malformed control headers are a 400, whatever the rule. Dialects whose delivery is not
 * built (Callback, notify/response) are not recognised: per seed 004 the server may then "block and
 * proceed as normal".
 */
export function negotiate(headers: IncomingHttpHeaders, rule: RouteRule | undefined, maxWaitMs: number): Negotiation {
  const policy = rule?.async ?? 'allowed';
  let respondAsync = false;
  let wait: number | undefined;
  let polling = false;
  try {
    const prefs = parsePrefer(headers.prefer);
    respondAsync = prefs.has('respond-async');
    wait = preferredWait(prefs);
  } catch (error) {
    throw asBadRequest(error, 'invalid-prefer');
  }
  try {
    polling = parseAcceptAsynchronous(headers['accept-asynchronous']) === 'polling';
  } catch (error) {
    throw asBadRequest(error, 'invalid-accept-asynchronous');
  }
  if (policy === 'never') return { async: false };
  const asked = respondAsync || polling;
  if (!asked && policy === 'allowed') return { async: false };
  if (!asked && policy === 'required') {
    throw new AsyncgateError(
      'async-required',
      'This resource is processed asynchronously. Send "Prefer: respond-async" (RFC 7240) or ' +
        '"Accept-Asynchronous: polling", then poll the Location of the 202 Accepted answer.',
      { members: { acceptedPreferences: ['Prefer: respond-async', 'Accept-Asynchronous: polling'] } },
    );
  }
  const dialect: Dialect = respondAsync ? 'prefer' : polling ? 'polling' : 'rule';
  const capMs = Math.min(maxWaitMs, rule?.maxWait ?? maxWaitMs);
  const waitSeconds = wait === undefined ? 0 : Math.min(wait, Math.floor(capMs / 1000));
  return { async: true, dialect, waitSeconds, redirectWhenDone: dialect === 'polling' };
}

function asBadRequest(error: unknown, type: 'invalid-prefer' | 'invalid-accept-asynchronous'): unknown {
  return error instanceof ProtocolError ? new AsyncgateError(type, error.message) : error;
}
