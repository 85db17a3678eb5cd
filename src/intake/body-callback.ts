import type { RouteRule } from '../config/routes.js';
import type { CallbackPolicy } from '../delivery/ssrf.js';
import { asProblem } from '../errors/as-problem.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { CallbackSpec } from '../model.js';
import { callbackUrl } from '../protocol/callback.js';
import { cut, findTopLevelMember } from './json-member.js';
import { allowed } from './negotiate.js';
import { tooLarge } from './body.js';

/** The default `callbackBodyMaxSize`: a body read whole to look for its field stays small (docs/dialects.md). */
export const CALLBACK_BODY_MAX_BYTES = 1024 * 1024;

/** The limit of a JSON body on a `callbackBodyField` route, and the 413 that says why it is lower. */
export function callbackBodyLimit(rule: RouteRule, maxBodyBytes: number): { limit: number; refuse: () => AsyncgateError } {
  const limit = Math.min(rule.callbackBodyMaxSize ?? CALLBACK_BODY_MAX_BYTES, rule.maxBodySize ?? maxBodyBytes);
  const refuse = () =>
    tooLarge(
      limit,
      `on this route a JSON body is read whole to look for "${rule.callbackBodyField ?? rule.pushBodyField}", so it may have at most ${limit} bytes ` +
        '(the route rule\'s callbackBodyMaxSize, default 1mb)',
    );
  return { limit, refuse };
}

/**
 * Lyst's callback_url convention: a top-level JSON field (the route's `callbackBodyField`, e.g. `callback_url`)
 * names where to POST a summary when the job is done. Returns the callback and the body to forward (the field
 * cut out unless the rule keeps it; every other byte as sent), or undefined when the body has no such field.
 * A body that is not JSON is not ours to judge: it is forwarded untouched and the upstream answers it.
 */
export function bodyCallback(
  body: Buffer | null,
  rule: RouteRule,
  policy: CallbackPolicy,
): { callback: CallbackSpec; body: Buffer } | undefined {
  const field = rule.callbackBodyField;
  if (!field || !body) return undefined;
  // A scan, not JSON.parse + JSON.stringify: no document is built, and no depth can overflow the stack.
  const found = findTopLevelMember(body, field);
  if (found.kind === 'not-json' || found.kind === 'absent') return undefined;
  if (found.kind === 'duplicate') throw new AsyncgateError('invalid-callback', `"${field}" appears more than once`);
  if (body[found.valueStart] !== 0x22) throw new AsyncgateError('invalid-callback', `"${field}" must be a URL string`);
  const value = JSON.parse(body.subarray(found.valueStart, found.valueEnd).toString('utf8')) as string;
  asProblem('invalid-callback', () => callbackUrl(value, field));
  const url = allowed(value, policy, field);
  const forwarded = rule.keepCallbackBodyField ? body : cut(body, found.cutStart, found.cutEnd);
  return { callback: { url, method: 'POST', mode: 'status', secret: null }, body: forwarded };
}
