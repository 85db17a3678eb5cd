import type { IncomingHttpHeaders } from 'node:http';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { invalidMessage, sendQstashJson } from './answer.js';
import type { QstashCall, QstashRoute } from './api.js';
import type { MessageHeaders, Placement } from './publish.js';
import type { Publisher } from './publisher.js';

/** At most this many messages in one batch. */
const MAX_BATCH = 100;

/**
 * `POST /v2/publish/{destination}`, `POST /v2/enqueue/{queue}/{destination}` and `POST /v2/batch`
 * (docs/qstash.md#publishing). A destination is an absolute http(s) URL or the name of one of the owner's URL
 * groups; a URL group's answer is a list, one message per endpoint.
 */
export function publishRoutes(publisher: Publisher): QstashRoute[] {
  const request = (call: QstashCall, destination: string, headers: MessageHeaders, body: Buffer | null, place: Placement) => {
    const remote = call.req.socket.remoteAddress;
    return { owner: call.owner, destination, headers, body, place, ...(remote ? { callerIp: remote } : {}) };
  };
  const publishOne = async (call: QstashCall, destination: string, place: Placement) => {
    const body = await call.body();
    const { jobs, fanOut } = await publisher.draft(request(call, destination, lowerCased(call.req.headers), body, place));
    const out = await publisher.accept(jobs);
    sendQstashJson(call.res, fanOut ? out : out[0], 201);
  };
  return [
    {
      method: 'POST',
      path: /^publish\/(.+)$/s,
      raw: true,
      name: 'publish',
      handle: (call) => publishOne(call, call.params[0]!, {}),
    },
    {
      method: 'POST',
      path: /^enqueue\/([^/?]+)\/(.+)$/s,
      raw: true,
      name: 'enqueue',
      handle: (call) => publishOne(call, call.params[1]!, { queue: decoded(call.params[0]!) }),
    },
    {
      method: 'POST',
      path: /^batch$/,
      name: 'batch',
      async handle(call) {
        const entries = batchEntries(await call.body());
        // Every entry is judged before any is committed: a bad one refuses the batch, and nothing of it is kept.
        const drafts = [];
        for (const [i, e] of entries.entries()) {
          try {
            drafts.push(await publisher.draft(request(call, e.destination, e.headers, e.body, e.queue ? { queue: e.queue } : {})));
          } catch (error) {
            if (error instanceof AsyncgateError) throw new AsyncgateError(error.type, `batch[${i}]: ${error.detail ?? error.message}`);
            throw error;
          }
        }
        const out = [];
        for (const d of drafts) {
          const published = await publisher.accept(d.jobs);
          out.push(d.fanOut ? published : published[0]!);
        }
        sendQstashJson(call.res, out, 201);
      },
    },
  ];
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalidMessage('the queue name is not valid percent-encoding');
  }
}

interface BatchEntry {
  destination: string;
  headers: MessageHeaders;
  body: Buffer | null;
  queue?: string;
}

/** `[{ destination, headers?, body?, queue? }, …]`, each checked. */
function batchEntries(raw: Buffer | null): BatchEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw?.toString('utf8') ?? '');
  } catch {
    throw invalidMessage('a batch is a JSON array of {"destination", "headers", "body"} objects');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw invalidMessage('a batch is a non-empty JSON array of {"destination", "headers", "body"} objects');
  if (parsed.length > MAX_BATCH) throw invalidMessage(`a batch may hold at most ${MAX_BATCH} messages, got ${parsed.length}`);
  return parsed.map((e: unknown, i): BatchEntry => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw invalidMessage(`batch[${i}]: must be an object`);
    const { destination, headers, body, queue } = e as Record<string, unknown>;
    if (typeof destination !== 'string' || destination === '') throw invalidMessage(`batch[${i}].destination: must be a URL`);
    if (body !== undefined && body !== null && typeof body !== 'string') throw invalidMessage(`batch[${i}].body: must be a string`);
    if (queue !== undefined && typeof queue !== 'string') throw invalidMessage(`batch[${i}].queue: must be a string`);
    const h: MessageHeaders = {};
    if (headers !== undefined && headers !== null) {
      if (typeof headers !== 'object' || Array.isArray(headers)) throw invalidMessage(`batch[${i}].headers: must be an object of strings`);
      for (const [name, value] of Object.entries(headers)) {
        if (typeof value !== 'string') throw invalidMessage(`batch[${i}].headers.${name.slice(0, 40)}: must be a string`);
        h[name.toLowerCase()] = value;
      }
    }
    const entry: BatchEntry = { destination, headers: h, body: typeof body === 'string' && body !== '' ? Buffer.from(body) : null };
    if (typeof queue === 'string') entry.queue = queue;
    return entry;
  });
}

/** A request's headers as one string each (repeats joined, as `Headers` would). */
export function lowerCased(headers: IncomingHttpHeaders): MessageHeaders {
  const out: MessageHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}
