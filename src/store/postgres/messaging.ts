/** The PostgreSQL store's URL groups and schedules (the messaging migration): one named statement each (messaging-sql.ts). */
import type { MessagingStore, ScheduleRecord, UrlGroupRecord } from '../port.js';
import { removals, rowToSchedule, rowToUrlGroup, scheduleColumns, withEndpoints, type ScheduleRow, type UrlGroupRow } from '../messaging-rows.js';
import type { RunStatement } from './grouped-writes.js';

export class PgMessaging implements MessagingStore {
  constructor(private readonly run: RunStatement) {}

  async addEndpoints(owner: string | null, name: string, endpoints: ReadonlyArray<{ name?: string; url: string }>, now: number): Promise<UrlGroupRecord> {
    const [row] = await this.run<UrlGroupRow>('addEndpoints', [owner, name, JSON.stringify(withEndpoints([], endpoints)), now]);
    return rowToUrlGroup(row!);
  }

  async removeEndpoints(owner: string | null, name: string, endpoints: ReadonlyArray<{ name?: string; url?: string }>, now: number): Promise<UrlGroupRecord | null> {
    const [row] = await this.run<UrlGroupRow>('removeEndpoints', [owner, name, JSON.stringify(removals(endpoints)), now]);
    return row ? rowToUrlGroup(row) : null;
  }

  async urlGroup(owner: string | null, name: string): Promise<UrlGroupRecord | null> {
    const [row] = await this.run<UrlGroupRow>('urlGroup', [owner, name]);
    return row ? rowToUrlGroup(row) : null;
  }

  async urlGroups(owner: string | null): Promise<UrlGroupRecord[]> {
    return (await this.run<UrlGroupRow>('urlGroups', [owner])).map(rowToUrlGroup);
  }

  async deleteUrlGroup(owner: string | null, name: string): Promise<boolean> {
    return (await this.run('deleteUrlGroup', [owner, name])).length > 0;
  }

  async putSchedule(schedule: ScheduleRecord): Promise<boolean> {
    const c = scheduleColumns(schedule);
    const values = [c.id, c.owner, c.cron, c.destination, c.headers, c.body, c.paused, c.created_at, c.updated_at, c.next_at, c.last_at, c.last_message_ids];
    return (await this.run('putSchedule', values)).length > 0;
  }

  async schedule(owner: string | null, id: string): Promise<ScheduleRecord | null> {
    const [row] = await this.run<ScheduleRow>('schedule', [owner, id]);
    return row ? rowToSchedule(row) : null;
  }

  async schedules(owner: string | null): Promise<ScheduleRecord[]> {
    return (await this.run<ScheduleRow>('schedules', [owner])).map(rowToSchedule);
  }

  async deleteSchedule(owner: string | null, id: string): Promise<boolean> {
    return (await this.run('deleteSchedule', [owner, id])).length > 0;
  }

  async setSchedulePaused(owner: string | null, id: string, paused: boolean, now: number, nextAt?: number): Promise<boolean> {
    return (await this.run('setSchedulePaused', [owner, id, paused, now, nextAt ?? null])).length > 0;
  }

  async dueSchedules(now: number, limit: number): Promise<ScheduleRecord[]> {
    return (await this.run<ScheduleRow>('dueSchedules', [now, limit])).map(rowToSchedule);
  }

  async advanceSchedule(id: string, firedAt: number, nextAt: number, messageIds: readonly string[], now: number): Promise<boolean> {
    return (await this.run('advanceSchedule', [id, firedAt, nextAt, JSON.stringify(messageIds), now])).length > 0;
  }
}
