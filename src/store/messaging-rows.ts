/**
 * The rows of `url_groups` and `schedules` as both backends return them (times as numbers; pg's int8 parser
 * makes bigint columns numbers too), and the rules of a group's endpoint list that both apply.
 */
import type { ScheduleRecord, UrlGroupRecord } from './port.js';

export interface UrlGroupRow {
  owner: string | null;
  name: string;
  /** JSON: Array<{ name?, url }>. */
  endpoints: string;
  created_at: number;
  updated_at: number;
}

export interface ScheduleRow {
  id: string;
  owner: string | null;
  cron: string;
  destination: string;
  headers: string;
  body: Buffer | null;
  /** 0/1 in SQLite, boolean in PostgreSQL. */
  paused: number | boolean;
  created_at: number;
  updated_at: number;
  next_at: number;
  last_at: number | null;
  last_message_ids: string;
}

export type Endpoint = UrlGroupRecord['endpoints'][number];

/** An endpoint as kept: its name only when one is given (an empty name is none). */
export function endpoint(e: { name?: string; url: string }): Endpoint {
  return e.name ? { name: e.name, url: e.url } : { url: e.url };
}

/** `added` after `kept`, each url once: an endpoint whose url is already there is kept as it first came. */
export function withEndpoints(kept: readonly Endpoint[], added: ReadonlyArray<{ name?: string; url: string }>): Endpoint[] {
  const out = [...kept];
  const urls = new Set(kept.map((e) => e.url));
  for (const e of added) {
    if (urls.has(e.url)) continue;
    urls.add(e.url);
    out.push(endpoint(e));
  }
  return out;
}

/** The removals that can match: each by its name and by its url, those given and not empty. */
export function removals(endpoints: ReadonlyArray<{ name?: string; url?: string }>): Array<{ name?: string; url?: string }> {
  return endpoints
    .map((e) => ({ ...(e.name ? { name: e.name } : {}), ...(e.url ? { url: e.url } : {}) }))
    .filter((e) => e.name !== undefined || e.url !== undefined);
}

/** Is `e` one of `removed` (removals()): the same name, or the same url? */
export function isRemoved(e: Endpoint, removed: ReadonlyArray<{ name?: string; url?: string }>): boolean {
  return removed.some((r) => (r.name !== undefined && r.name === e.name) || (r.url !== undefined && r.url === e.url));
}

export function rowToUrlGroup(r: UrlGroupRow): UrlGroupRecord {
  const endpoints = (JSON.parse(r.endpoints) as Endpoint[]).map(endpoint);
  return { owner: r.owner, name: r.name, endpoints, createdAt: r.created_at, updatedAt: r.updated_at };
}

export function rowToSchedule(r: ScheduleRow): ScheduleRecord {
  return {
    id: r.id,
    owner: r.owner,
    cron: r.cron,
    destination: r.destination,
    headers: JSON.parse(r.headers) as Record<string, string>,
    // A copy: the driver's Buffer may be a view of a pool shared with other values.
    body: r.body === null ? null : new Uint8Array(r.body),
    paused: Boolean(r.paused),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    nextAt: r.next_at,
    lastAt: r.last_at,
    lastMessageIds: JSON.parse(r.last_message_ids) as string[],
  };
}

/** A schedule's column values (JSON as text, the body as a Buffer both drivers bind as bytes). */
export function scheduleColumns(s: ScheduleRecord) {
  return {
    id: s.id,
    owner: s.owner,
    cron: s.cron,
    destination: s.destination,
    headers: JSON.stringify(s.headers),
    body: s.body === null ? null : Buffer.from(s.body.buffer, s.body.byteOffset, s.body.byteLength),
    paused: s.paused,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    next_at: s.nextAt,
    last_at: s.lastAt,
    last_message_ids: JSON.stringify(s.lastMessageIds),
  };
}
