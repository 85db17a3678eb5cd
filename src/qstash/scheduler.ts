import type { Logger } from 'pino';
import { AsyncgateError } from '../errors/asyncgate-error.js';
import { parseCron } from '../protocol/cron.js';
import type { MessagingStore, ScheduleRecord } from '../store/port.js';
import type { Publisher } from './publisher.js';

/** How often every process looks for due schedules. Crons are by the minute: a fire is at most this late. */
const TICK_MS = 250;
const BATCH = 50;
/** Refusals that pass (a full queue or disk, a shutdown): the fire is tried again at the next tick. */
const PASSING = new Set(['queue-full', 'storage-full', 'shutting-down']);

/**
 * Fires due schedules (docs/qstash.md#schedules), in every process sharing the store. A fire publishes the
 * schedule's request with the Idempotency-Key `qstash-schedule:<id>:<time>`, then moves the schedule to its next
 * time with a compare-and-set on the time it fired: two processes firing the same time make one message and
 * record it once, and a crash between the two steps repeats the publish, which the key turns into the same
 * message. After downtime a schedule fires once for the times it missed (late), then on its cron from now on.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = true;

  constructor(
    private readonly messaging: MessagingStore,
    private readonly publisher: Publisher,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Fire what is due now (also for tests). */
  async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const due = await this.messaging.dueSchedules(Date.now(), BATCH);
      for (const s of due) {
        if (this.stopped) break;
        await this.fire(s);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not look for due schedules; will retry');
    } finally {
      this.busy = false;
    }
  }

  private async fire(s: ScheduleRecord): Promise<void> {
    const firedAt = s.nextAt;
    let next: number;
    try {
      next = parseCron(s.cron).nextAfter(Math.max(Date.now(), firedAt));
    } catch (error) {
      this.log.error({ err: error, schedule_id: s.id }, 'a stored schedule has a cron that no longer parses; pausing it');
      await this.messaging.setSchedulePaused(s.owner, s.id, true, Date.now());
      return;
    }
    let ids: string[] = [];
    try {
      const queue = s.headers['upstash-queue-name'];
      const { jobs } = await this.publisher.draft({
        owner: s.owner,
        destination: s.destination,
        headers: s.headers,
        body: s.body ? Buffer.from(s.body) : null,
        place: { scheduleId: s.id, ...(queue ? { queue } : {}), fireKey: `qstash-schedule:${s.id}:${firedAt}` },
      });
      ids = (await this.publisher.accept(jobs)).map((p) => p.messageId);
    } catch (error) {
      if (error instanceof AsyncgateError && PASSING.has(error.type)) return; // the next tick tries this fire again
      if (!(error instanceof AsyncgateError)) throw error;
      // Refused for good (a destination the SSRF guard now refuses, a URL group since deleted): this fire is skipped.
      this.log.warn({ schedule_id: s.id, err: error }, 'a schedule fire was refused; skipped');
    }
    await this.messaging.advanceSchedule(s.id, firedAt, next, ids, Date.now());
  }
}
