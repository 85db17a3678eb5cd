import type { RouteRule } from '../config/routes.js';
import type { CallbackPolicy } from '../delivery/ssrf.js';
import { asProblem } from '../errors/as-problem.js';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import type { CallbackSpec } from '../model.js';
import { callbackUrl } from '../protocol/callback.js';
import { allowed } from './negotiate.js';

/**
 * Lyst's callback_url convention: a top-level JSON field (the route's `callbackBodyField`, e.g. `callback_url`)
 * names where to POST a summary when the job is done. Returns the callback and the body to forward (the field
 * removed unless the rule keeps it), or undefined when the body has no such field.
 */
export function bodyCallback(
  body: Buffer | null,
  rule: RouteRule,
  policy: CallbackPolicy,
): { callback: CallbackSpec; body: Buffer } | undefined {
  const field = rule.callbackBodyField;
  if (!field || !body) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined; // not JSON: not ours to judge, the upstream will answer it
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !(field in parsed)) return undefined;
  const value = (parsed as Record<string, unknown>)[field];
  if (typeof value !== 'string') throw new AsyncgateError('invalid-callback', `"${field}" must be a URL string`);
  asProblem('invalid-callback', () => callbackUrl(value, field));
  const url = allowed(value, policy, field);
  let forwarded = body;
  if (!rule.keepCallbackBodyField) {
    delete (parsed as Record<string, unknown>)[field];
    forwarded = Buffer.from(JSON.stringify(parsed));
  }
  return { callback: { url, method: 'POST', mode: 'status', secret: null }, body: forwarded };
}
