/**
 * The storage port's parts for the QStash-compatible API (docs/qstash.md): job groups (queues, flow-control keys)
 * and the messaging records (URL groups, schedules). Part of the port (`port.ts` re-exports them).
 */

/**
 * A job group (docs/qstash.md#queues): jobs that name the same group key run under its bounds. `fifo` (a QStash
 * queue): only the first `parallelism` unfinished jobs of the group in acceptance order may run, so a job waiting
 * for its retry holds back the ones after it. Not fifo (a flow-control key): at most `parallelism` run at once,
 * in due order. `rate` per `periodMs`: at most that many attempts start in each period. A paused group starts
 * none. A job naming a group that has no record runs as if it were `{ parallelism: 1, fifo: true }`.
 */
export interface JobGroup {
  key: string;
  parallelism: number;
  fifo: boolean;
  rate?: number;
  periodMs?: number;
  paused: boolean;
}

export interface JobGroupRecord extends JobGroup {
  createdAt: number;
  updatedAt: number;
  /** Its jobs not yet finished (queued or running). */
  lag: number;
}

/** A URL group (QStash's topic): a named list of endpoints a publish fans out to, the owner's own. */
export interface UrlGroupRecord {
  owner: string | null;
  name: string;
  /** In the order added; an endpoint's url is unique in its group (its name is kept as given; an empty one is none). */
  endpoints: Array<{ name?: string; url: string }>;
  createdAt: number;
  updatedAt: number;
}

/** A schedule (QStash's): a publish request kept with its cron, fired at `nextAt` (docs/qstash.md#schedules). */
export interface ScheduleRecord {
  id: string;
  owner: string | null;
  /** As given, with its `CRON_TZ=` prefix if any. */
  cron: string;
  /** A URL, or a URL group's name. */
  destination: string;
  /** The publish request's headers (lower-case names: `upstash-*` and the forwarded ones) and its body. */
  headers: Record<string, string>;
  body: Uint8Array | null;
  paused: boolean;
  createdAt: number;
  updatedAt: number;
  /** When it fires next (epoch ms). */
  nextAt: number;
  /** When it last fired, and the messages that fire made. */
  lastAt: number | null;
  lastMessageIds: string[];
}

/** The QStash-compatible API's own records (url groups, schedules), beside the jobs they make. */
export interface MessagingStore {
  /** Add endpoints to the owner's URL group, creating it; an endpoint already there (same url) is kept once. */
  addEndpoints(owner: string | null, name: string, endpoints: ReadonlyArray<{ name?: string; url: string }>, now: number): Promise<UrlGroupRecord>;
  /** Remove the endpoints matching by name or url; the group is deleted once empty (the record returned then has no
   * endpoints). null when there is no such group. */
  removeEndpoints(owner: string | null, name: string, endpoints: ReadonlyArray<{ name?: string; url?: string }>, now: number): Promise<UrlGroupRecord | null>;
  urlGroup(owner: string | null, name: string): Promise<UrlGroupRecord | null>;
  /** The owner's URL groups by name. */
  urlGroups(owner: string | null): Promise<UrlGroupRecord[]>;
  deleteUrlGroup(owner: string | null, name: string): Promise<boolean>;

  /** Create or replace a schedule by id (a replaced one keeps its createdAt). Replacing one of another owner's ids is
   * refused: false, nothing written. */
  putSchedule(schedule: ScheduleRecord): Promise<boolean>;
  schedule(owner: string | null, id: string): Promise<ScheduleRecord | null>;
  /** The owner's schedules, oldest first. */
  schedules(owner: string | null): Promise<ScheduleRecord[]>;
  deleteSchedule(owner: string | null, id: string): Promise<boolean>;
  /** Pause or resume; with `nextAt` (what resuming needs), also set when it fires next. false when there is no such schedule. */
  setSchedulePaused(owner: string | null, id: string, paused: boolean, now: number, nextAt?: number): Promise<boolean>;
  /** Schedules due (not paused, nextAt ≤ now), every owner's, soonest first, at most `limit`. */
  dueSchedules(now: number, limit: number): Promise<ScheduleRecord[]>;
  /** Record a fire: only if the schedule still fires at `firedAt` (compare-and-set, so two processes firing the
   * same time record it once), move it to `nextAt`, with lastAt = firedAt and the messages it made. */
  advanceSchedule(id: string, firedAt: number, nextAt: number, messageIds: readonly string[], now: number): Promise<boolean>;
}
