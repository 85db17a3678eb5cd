import type { IncomingMessage } from 'node:http';

/**
 * The body an app's parser already took from the stream, back as bytes for the job (objects as JSON, text as
 * UTF-8). undefined when nothing parsed it and the stream is still unread: asyncgate then reads it itself,
 * within the route's body limit.
 */
export function encodeParsedBody(req: IncomingMessage, parsed: unknown): Buffer | null | undefined {
  if (parsed === undefined) return req.readableEnded ? null : undefined;
  if (parsed === null) return null;
  if (Buffer.isBuffer(parsed)) return parsed.length ? parsed : null;
  if (parsed instanceof Uint8Array) return parsed.byteLength ? Buffer.from(parsed) : null;
  if (typeof parsed === 'string') return parsed ? Buffer.from(parsed, 'utf8') : null;
  return Buffer.from(JSON.stringify(parsed), 'utf8');
}
