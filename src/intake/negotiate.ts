import type { IncomingHttpHeaders } from 'node:http';
import type { RouteRule } from '../config/routes.js';
import type { CallbackSettings } from '../config/settings.js';
import { isValidSecret } from '../protocol/standard-webhooks.js';
import { checkCallbackUrl } from '../delivery/callback-url.js';
import { CallbackPolicyError, type CallbackPolicy } from '../delivery/ssrf.js';
import { asProblem } from '../errors/as-problem.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { CallbackSpec, Dialect } from '../model.js';
import { parseAcceptAsynchronous, parseAsynchronousEndpoint } from '../protocol/accept-asynchronous.js';
import { odataCallbackUrl, parseCallbackHeader } from '../protocol/callback.js';
import { parsePrefer, preferredWait } from '../protocol/prefer.js';
import { pushHeaderWish } from './push-wish.js';

export type Negotiation =
  | { async: false }
  | {
      async: true;
      dialect: Dialect;
      /** Seconds to race completion against before answering 202 (RFC 7240 §4.3), already capped. */
      waitSeconds: number;
      /** Accept-Asynchronous: polling — the monitor answers 303 once done. */
      redirectWhenDone: boolean;
      /** Where to deliver the result, already checked against the SSRF policy. */
      callbacks: CallbackSpec[];
      /** Preferences honoured (RFC 7240 §3), for Preference-Applied. */
      applied: string[];
      /** Send the owner's push subscriptions a message when the job is done (push-wish.ts). */
      push?: boolean;
    };

/**
 * Decide whether a proxied request gets an asynchronous answer: the client's dialect, weighed by
 * the route rule. Malformed control headers are a 400, whatever the rule; so are callback URLs the SSRF
 * policy refuses, when that can be judged now.
 *
 * - `Prefer: respond-async` (RFC 7240), with `Callback` (response redirection) and/or OData `callback; url=` targets;
 * - `Pragma: redirect` + `Callback` (response redirection): the response goes to the callback;
 * - `Accept-Asynchronous: polling | notify | response` (+ `Asynchronous-end-point`, the Fedora proposal);
 * - a route rule `always`. (`callback_url` in a JSON body is decided after reading it: see accept.ts.)
 */
export function negotiate(
  headers: IncomingHttpHeaders,
  rule: RouteRule | undefined,
  maxWaitMs: number,
  limits: Pick<CallbackSettings, 'policy' | 'maxPerJob'>,
): Negotiation {
  const { policy } = limits;
  const policyName = rule?.async ?? 'allowed';
  const prefs = asProblem('invalid-prefer', () => parsePrefer(headers.prefer));
  const respondAsync = prefs.has('respond-async');
  const wait = asProblem('invalid-prefer', () => preferredWait(prefs));
  const mode = asProblem('invalid-accept-asynchronous', () => parseAcceptAsynchronous(headers['accept-asynchronous']));
  const callbackHeader = asProblem('invalid-callback', () => parseCallbackHeader(headers.callback));
  const odata = asProblem('invalid-callback', () => odataCallbackUrl(prefs));
  const pragmaRedirect = /(^|,)\s*redirect\s*(,|$)/i.test(String(headers.pragma ?? ''));
  const push = pushHeaderWish(headers);

  if (policyName === 'never') return { async: false };
  const callbacks: CallbackSpec[] = [];
  const applied: string[] = [];
  // Response redirection: a Callback makes the request asynchronous only with Pragma: redirect or respond-async.
  if (callbackHeader && (pragmaRedirect || respondAsync)) {
    // Before anything per entry: the header may list hundreds (only the header size limit bounds it).
    checkCallbackCount(callbackHeader.length, limits.maxPerJob);
    for (const c of callbackHeader) {
      if (c.secret !== undefined && !isValidSecret(c.secret)) {
        throw new AsyncgateError('invalid-callback', 'Callback secret must be raw text or whsec_ + base64');
      }
      callbacks.push({ url: allowed(c.url.href, policy, 'Callback'), method: c.method, mode: 'response', secret: c.secret ?? null });
    }
  }
  if (odata && respondAsync) {
    callbacks.push({ url: allowed(odata.href, policy, 'Prefer'), method: 'GET', mode: 'ping', secret: null });
    applied.push('callback');
  }
  if (mode === 'notify' || mode === 'response') {
    const endpoint = asProblem('invalid-asynchronous-end-point', () => parseAsynchronousEndpoint(String(headers['asynchronous-end-point'] ?? '') || undefined));
    if (!endpoint) {
      throw new AsyncgateError('invalid-asynchronous-end-point', `Accept-Asynchronous: ${mode} needs an Asynchronous-end-point header with the URL to call`);
    }
    callbacks.push({ url: allowed(endpoint.href, policy, 'Asynchronous-end-point'), method: 'POST', mode, secret: null });
  }
  checkCallbackCount(callbacks.length, limits.maxPerJob);
  // A push, like a callback, is an answer that comes later: asking for one asks for asynchrony.
  const asked = respondAsync || mode !== undefined || callbacks.length > 0 || push;
  if (!asked && policyName === 'allowed') return { async: false };
  if (!asked && policyName === 'required') {
    throw new AsyncgateError(
      'async-required',
      'This resource is processed asynchronously. Send "Prefer: respond-async" (RFC 7240) or ' +
        '"Accept-Asynchronous: polling", then poll the Location of the 202 Accepted answer.',
      { members: { acceptedPreferences: ['Prefer: respond-async', 'Accept-Asynchronous: polling'] } },
    );
  }
  if (respondAsync) applied.unshift('respond-async');
  const dialect: Dialect = respondAsync
    ? 'prefer'
    : mode === 'polling'
      ? 'polling'
      : mode === 'notify' || mode === 'response'
        ? mode
        : callbacks.length || push
          ? 'callback'
          : 'rule';
  const capMs = Math.min(maxWaitMs, rule?.maxWait ?? maxWaitMs);
  const waitSeconds = wait === undefined ? 0 : Math.min(wait, Math.floor(capMs / 1000));
  return { async: true, dialect, waitSeconds, redirectWhenDone: dialect === 'polling', callbacks, applied, ...(push ? { push } : {}) };
}

/** Each callback is a signed outbound request: a job may have at most `max` (`--max-callbacks`). */
export function checkCallbackCount(count: number, max: number): void {
  if (count > max) {
    throw new AsyncgateError('too-many-callbacks', `a job may have at most ${max} callbacks; this one would have ${count}`, {
      members: { maxCallbacks: max },
    });
  }
}

/** A callback URL the SSRF policy accepts, or a 400 that says why not (docs/callbacks.md#ssrf-guard). */
export function allowed(url: string, policy: CallbackPolicy, field: string): string {
  try {
    return checkCallbackUrl(url, policy).href;
  } catch (error) {
    if (error instanceof CallbackPolicyError) throw new AsyncgateError('callback-refused', `${field}: ${error.message}`);
    throw error;
  }
}
