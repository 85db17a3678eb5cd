/**
 * Finding the status monitor (and the event stream and cancel link) in a `202 Accepted`, whichever convention
 * the server follows:
 *
 * - asyncgate / Azure long-running operations: `Operation-Location` (or `Azure-AsyncOperation`) names a monitor
 *   that answers a JSON status representation (`{ status, resourceLocation?, error? }`);
 * - RFC 8288 `Link: <…>; rel="monitor"`, and asyncgate's `links.self.href` / Lyst's `resource_url` in the body;
 * - OData (4.01 Part 1 §9.1.3) and plain RFC 9110 §15.3.3: `Location` names a monitor that answers `202` while
 *   the work runs and the final response when done — or `303 See Other` to the result (`Accept-Asynchronous: polling`).
 *
 * The event stream is `links.events.href` in the representation or `Link: <…>; rel="events"`.
 */
import { parseLinkHeader } from './link.js';
import { parseRetryAfter } from './retry-after.js';
import { readStatus, type StatusReading } from './operation-status.js';

/**
 * How the monitor speaks. `status-json`: it answers a status representation (any answer without a recognisable
 * `status` is taken as the final response). `plain`: `202` means "still running" and any other `2xx` is the final
 * response itself (OData), with no status document to misread.
 */
export type Convention = 'status-json' | 'plain';

/** One asynchronous operation, as discovered from its 202 (and updated from later representations). */
export interface Operation {
  monitor: string;
  convention: Convention;
  events?: string;
  cancel?: string;
  /** The 202's `Location` when it names something other than the monitor: Azure's final resource for a POST. */
  location?: string;
  /** `Retry-After` of the 202, ms. */
  retryAfterMs?: number;
  /** The 202's `ETag`: asyncgate's equals the monitor's, so the first poll can already be conditional. */
  etag?: string;
  /** The 202's body read as a status representation, when it is one. */
  initial?: StatusReading;
  representation?: unknown;
}

function resolve(href: string | undefined, base: string): string | undefined {
  if (!href) return undefined;
  try {
    return new URL(href, base).href;
  } catch {
    return undefined;
  }
}

/** `Link` relations of a response: rel → first target. Malformed `Link` fields are ignored: they are the server's problem. */
export function linkRelations(headers: Headers): Map<string, string> {
  const rels = new Map<string, string>();
  const field = headers.get('link');
  if (!field) return rels;
  try {
    for (const link of parseLinkHeader(field)) {
      for (const rel of (link.params.get('rel') ?? '').toLowerCase().split(/\s+/)) {
        if (rel && !rels.has(rel)) rels.set(rel, link.target);
      }
    }
  } catch {
    // unreadable Link: as if absent
  }
  return rels;
}

/** Parse a body as JSON when it is JSON; undefined otherwise. */
export function parseJson(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The operation a `202 Accepted` describes (its headers, body, and the URL relative links resolve against), or
 * undefined when it names no monitor (nothing to poll). */
export function discoverOperation(headers: Headers, bodyText: string, base: string): Operation | undefined {
  const rels = linkRelations(headers);
  const body = parseJson(bodyText);
  const reading = readStatus(body);
  const bodyObject = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const statusHeader = headers.get('operation-location') ?? headers.get('azure-asyncoperation');
  const location = resolve(headers.get('location') ?? undefined, base);
  const monitor =
    resolve(statusHeader ?? undefined, base) ??
    resolve(rels.get('monitor'), base) ??
    resolve(reading?.links.self, base) ??
    resolve(typeof bodyObject.resource_url === 'string' ? bodyObject.resource_url : undefined, base) ??
    location;
  if (!monitor) return undefined;
  const op: Operation = { monitor, convention: statusHeader || reading ? 'status-json' : 'plain' };
  const events = resolve(reading?.links.events ?? rels.get('events'), base);
  if (events) op.events = events;
  const cancel = resolve(reading?.links.cancel ?? rels.get('cancel'), base);
  if (cancel) op.cancel = cancel;
  if (location && location !== monitor) op.location = location;
  const retryAfter = parseRetryAfter(headers.get('retry-after') ?? undefined);
  if (retryAfter !== undefined) op.retryAfterMs = retryAfter;
  const etag = headers.get('etag');
  if (etag) op.etag = etag;
  if (reading) {
    op.initial = reading;
    op.representation = body;
  }
  return op;
}

/** Take the links a later representation reveals (e.g. the events link, once the server has one). */
export function learnLinks(op: Operation, reading: StatusReading): void {
  const events = resolve(reading.links.events, op.monitor);
  if (events && !op.events) op.events = events;
  const cancel = resolve(reading.links.cancel, op.monitor);
  if (cancel && !op.cancel) op.cancel = cancel;
}
