/**
 * The SQLite store's URL groups and schedules (the messaging migration): writes through the store's queue, like
 * every other, each one transaction.
 */
import type Database from 'better-sqlite3';
import type { MessagingStore, ScheduleRecord, UrlGroupRecord } from '../port.js';
import {
  isRemoved,
  removals,
  rowToSchedule,
  rowToUrlGroup,
  scheduleColumns,
  withEndpoints,
  type ScheduleRow,
  type UrlGroupRow,
} from '../messaging-rows.js';
import type { WriteQueue } from './write-queue.js';
import { prepareEach, type Prepared } from './sql.js';

// `owner IS @owner` matches the anonymous owner (null) too; the coalesce term finds a group in its unique index.
const OWNERS_GROUPS = `coalesce(owner, '') = coalesce(@owner, '') AND owner IS @owner`;
const GROUP = `${OWNERS_GROUPS} AND name = @name`;

const SQL = {
  group: `SELECT * FROM url_groups WHERE ${GROUP}`,
  groups: `SELECT * FROM url_groups WHERE ${OWNERS_GROUPS} ORDER BY name`,
  insertGroup: `INSERT INTO url_groups (owner, name, endpoints, created_at, updated_at) VALUES (@owner, @name, @endpoints, @now, @now)`,
  updateGroup: `UPDATE url_groups SET endpoints = @endpoints, updated_at = @now WHERE ${GROUP}`,
  deleteGroup: `DELETE FROM url_groups WHERE ${GROUP}`,
  // Another owner's id is left alone: the DO UPDATE's WHERE makes it no change. A replaced schedule keeps its created_at.
  putSchedule: `INSERT INTO schedules (id, owner, cron, destination, headers, body, paused, created_at, updated_at, next_at,
      last_at, last_message_ids)
    VALUES (@id, @owner, @cron, @destination, @headers, @body, @paused, @created_at, @updated_at, @next_at, @last_at, @last_message_ids)
    ON CONFLICT (id) DO UPDATE SET cron = excluded.cron, destination = excluded.destination, headers = excluded.headers,
      body = excluded.body, paused = excluded.paused, updated_at = excluded.updated_at, next_at = excluded.next_at,
      last_at = excluded.last_at, last_message_ids = excluded.last_message_ids
    WHERE schedules.owner IS excluded.owner`,
  schedule: `SELECT * FROM schedules WHERE id = @id AND owner IS @owner`,
  schedules: `SELECT * FROM schedules WHERE owner IS @owner ORDER BY created_at, id`,
  deleteSchedule: `DELETE FROM schedules WHERE id = @id AND owner IS @owner`,
  setPaused: `UPDATE schedules SET paused = @paused, next_at = coalesce(@nextAt, next_at), updated_at = @now
    WHERE id = @id AND owner IS @owner`,
  due: `SELECT * FROM schedules WHERE NOT paused AND next_at <= @now ORDER BY next_at, id LIMIT @limit`,
  advance: `UPDATE schedules SET next_at = @nextAt, last_at = @firedAt, last_message_ids = @ids, updated_at = @now
    WHERE id = @id AND next_at = @firedAt`,
};

export class SqliteMessaging implements MessagingStore {
  private readonly sql: Prepared<typeof SQL>;

  constructor(
    db: Database.Database,
    private readonly writes: WriteQueue,
  ) {
    this.sql = prepareEach(db, SQL);
  }

  addEndpoints(owner: string | null, name: string, endpoints: ReadonlyArray<{ name?: string; url: string }>, now: number): Promise<UrlGroupRecord> {
    return this.writes.write(() => {
      const row = this.sql.group.get({ owner, name }) as UrlGroupRow | undefined;
      const kept = withEndpoints(row ? rowToUrlGroup(row).endpoints : [], endpoints);
      const args = { owner, name, endpoints: JSON.stringify(kept), now };
      (row ? this.sql.updateGroup : this.sql.insertGroup).run(args);
      return { owner, name, endpoints: kept, createdAt: row?.created_at ?? now, updatedAt: now };
    });
  }

  removeEndpoints(owner: string | null, name: string, endpoints: ReadonlyArray<{ name?: string; url?: string }>, now: number): Promise<UrlGroupRecord | null> {
    return this.writes.write(() => {
      const row = this.sql.group.get({ owner, name }) as UrlGroupRow | undefined;
      if (!row) return null;
      const group = rowToUrlGroup(row);
      const removed = removals(endpoints);
      const kept = group.endpoints.filter((e) => !isRemoved(e, removed));
      if (kept.length === group.endpoints.length) return group;
      if (kept.length === 0) this.sql.deleteGroup.run({ owner, name });
      else this.sql.updateGroup.run({ owner, name, endpoints: JSON.stringify(kept), now });
      return { ...group, endpoints: kept, updatedAt: now };
    });
  }

  urlGroup(owner: string | null, name: string): Promise<UrlGroupRecord | null> {
    return this.writes.read(() => {
      const row = this.sql.group.get({ owner, name }) as UrlGroupRow | undefined;
      return row ? rowToUrlGroup(row) : null;
    });
  }

  urlGroups(owner: string | null): Promise<UrlGroupRecord[]> {
    return this.writes.read(() => (this.sql.groups.all({ owner }) as UrlGroupRow[]).map(rowToUrlGroup));
  }

  deleteUrlGroup(owner: string | null, name: string): Promise<boolean> {
    return this.writes.write(() => this.sql.deleteGroup.run({ owner, name }).changes > 0);
  }

  putSchedule(schedule: ScheduleRecord): Promise<boolean> {
    const columns = { ...scheduleColumns(schedule), paused: schedule.paused ? 1 : 0 };
    return this.writes.write(() => this.sql.putSchedule.run(columns).changes > 0);
  }

  schedule(owner: string | null, id: string): Promise<ScheduleRecord | null> {
    return this.writes.read(() => {
      const row = this.sql.schedule.get({ owner, id }) as ScheduleRow | undefined;
      return row ? rowToSchedule(row) : null;
    });
  }

  schedules(owner: string | null): Promise<ScheduleRecord[]> {
    return this.writes.read(() => (this.sql.schedules.all({ owner }) as ScheduleRow[]).map(rowToSchedule));
  }

  deleteSchedule(owner: string | null, id: string): Promise<boolean> {
    return this.writes.write(() => this.sql.deleteSchedule.run({ owner, id }).changes > 0);
  }

  setSchedulePaused(owner: string | null, id: string, paused: boolean, now: number, nextAt?: number): Promise<boolean> {
    const args = { owner, id, paused: paused ? 1 : 0, now, nextAt: nextAt ?? null };
    return this.writes.write(() => this.sql.setPaused.run(args).changes > 0);
  }

  dueSchedules(now: number, limit: number): Promise<ScheduleRecord[]> {
    return this.writes.read(() => (this.sql.due.all({ now, limit }) as ScheduleRow[]).map(rowToSchedule));
  }

  advanceSchedule(id: string, firedAt: number, nextAt: number, messageIds: readonly string[], now: number): Promise<boolean> {
    const args = { id, firedAt, nextAt, ids: JSON.stringify(messageIds), now };
    return this.writes.write(() => this.sql.advance.run(args).changes > 0);
  }
}
