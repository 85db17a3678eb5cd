import { invalidMessage } from './answer.js';

/** A request body that must be a JSON object (queues, URL groups): parsed, or `invalid-message` saying so. */
export function jsonObject(raw: Buffer | null, shape: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw?.toString('utf8') ?? '');
  } catch {
    throw invalidMessage(`the body must be JSON: ${shape}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidMessage(`the body must be a JSON object: ${shape}`);
  return parsed as Record<string, unknown>;
}
