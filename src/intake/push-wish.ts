/**
 * A request's wish for a Web Push message when its job is done (docs/push.md): `Asyncgate-Push: on`, or on a
 * route whose rule names a `pushBodyField`, that top-level JSON field set to true (found and cut out like
 * `callbackBodyField`). The job then gets a `push` delivery for each push subscription its owner has.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteRule } from '../config/routes.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { PUSH_MODE, type CallbackSpec } from '../model.js';
import type { JobStore } from '../store/port.js';
import { cut, findTopLevelMember } from './json-member.js';

/** The request header of the wish, for requests without a JSON body. */
export const PUSH_HEADER = 'asyncgate-push';

/** `Asyncgate-Push: on` (true), `off` or absent (false); anything else is a 400. */
export function pushHeaderWish(headers: IncomingHttpHeaders): boolean {
  const value = headers[PUSH_HEADER];
  if (value === undefined) return false;
  const v = String(value).trim().toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new AsyncgateError('invalid-header', `${PUSH_HEADER} must be "on" or "off"`);
}

/**
 * The route's `pushBodyField` in a JSON body: whether it asks for a push, and the body to forward (the field
 * cut out unless the rule keeps it). undefined when the body is not JSON or has no such field.
 */
export function bodyPush(body: Buffer | null, rule: RouteRule): { push: boolean; body: Buffer } | undefined {
  const field = rule.pushBodyField;
  if (!field || !body) return undefined;
  const found = findTopLevelMember(body, field);
  if (found.kind === 'not-json' || found.kind === 'absent') return undefined;
  if (found.kind === 'duplicate') throw new AsyncgateError('invalid-body', `"${field}" appears more than once`);
  const value = body.subarray(found.valueStart, found.valueEnd).toString('utf8');
  if (value !== 'true' && value !== 'false') throw new AsyncgateError('invalid-body', `"${field}" must be true or false`);
  return { push: value === 'true', body: rule.keepPushBodyField ? body : cut(body, found.cutStart, found.cutEnd) };
}

/** A `push` callback for each of the owner's push subscriptions, as the job is accepted. */
export async function pushCallbacks(store: JobStore, owner: string | null): Promise<CallbackSpec[]> {
  const subs = await store.pushSubscriptions.of(owner);
  return subs.map((s) => ({ url: s.endpoint, method: 'POST', mode: PUSH_MODE, secret: null }));
}
