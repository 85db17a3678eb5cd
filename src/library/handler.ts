import type { HeaderPairs } from '../model.js';

/** The request a handler runs for: as the client sent it, kept with the job so a restarted process has it too. */
export interface HandlerRequest {
  method: string;
  /** Path and query, e.g. `/reports?year=2026`. */
  url: string;
  /** Control headers (`Prefer`, `Callback`…) removed; `Forwarded` / `X-Forwarded-*` added. */
  headers: Headers;
  body: Uint8Array | null;
  /** The body as UTF-8 text ('' when there is none). */
  text(): string;
  /** The body parsed as JSON (throws on malformed JSON, like `Response.json()`). */
  json<T = unknown>(): T;
}

/** What a handler gets (docs/library.md). */
export interface HandlerContext {
  /** The job's id; null when the request was answered inline (the client did not ask for asynchrony). */
  jobId: string | null;
  request: HandlerRequest;
  /** Report progress: shown by the monitor (`percentComplete`, `progress`) and wakes long polls. A no-op inline. */
  progress(current: number, total?: number, message?: string): Promise<void>;
  /** Fires when the job is canceled or deleted, on the route's timeout, on shutdown; inline, when the client goes. */
  signal: AbortSignal;
}

/**
 * What a handler returns. A WHATWG `Response` is sent as is (status, headers, body); a string as
 * `text/plain`, bytes as `application/octet-stream`, `undefined`/`null` as `204`, anything else as JSON.
 * A plain `{status, body}` object is JSON data, not a response: use `Response` (or `Response.json(x, {status})`)
 * to choose the status, so data that happens to have a `status` field is never misread.
 */
export type HandlerResult = Response | string | Uint8Array | null | undefined | object | number | boolean;

export type AsyncHandler = (ctx: HandlerContext) => HandlerResult | Promise<HandlerResult>;

/** A handler's answer in the engine's terms. */
export interface Reply {
  status: number;
  headers: HeaderPairs;
  body: AsyncIterable<Uint8Array> | null;
  /** Known length of the body, for Content-Length when answering inline. */
  size?: number;
}

/** Turn a handler's return value into a reply (see HandlerResult). */
export function toReply(value: HandlerResult): Reply {
  if (value instanceof Response) {
    const headers: HeaderPairs = [];
    value.headers.forEach((v, name) => {
      if (name !== 'set-cookie') headers.push([name, v]);
    });
    for (const cookie of value.headers.getSetCookie()) headers.push(['set-cookie', cookie]);
    return { status: value.status, headers, body: value.body as AsyncIterable<Uint8Array> | null };
  }
  if (value === undefined || value === null) return { status: 204, headers: [], body: null, size: 0 };
  if (typeof value === 'string') return bytes(Buffer.from(value, 'utf8'), 'text/plain; charset=utf-8');
  if (value instanceof Uint8Array) return bytes(value, 'application/octet-stream');
  return bytes(Buffer.from(JSON.stringify(value), 'utf8'), 'application/json');
}

function bytes(data: Uint8Array, contentType: string): Reply {
  return { status: 200, headers: [['content-type', contentType]], body: once(data), size: data.byteLength };
}

async function* once(data: Uint8Array): AsyncIterable<Uint8Array> {
  if (data.byteLength) yield data;
}

/** The handler's view of a request. */
export function handlerRequest(method: string, url: string, headers: HeaderPairs, body: Uint8Array | null): HandlerRequest {
  const h = new Headers();
  for (const [name, value] of headers) h.append(name, value);
  const text = () => (body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') : '');
  return { method, url, headers: h, body, text, json: <T>() => JSON.parse(text()) as T };
}
