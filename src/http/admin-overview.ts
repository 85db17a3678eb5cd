import type { StoreOverview } from '../store/port.js';

const HOUR = 3600_000;

export interface OverviewCountsOptions {
  /** How long one computation of the counts serves every dashboard open at the time. */
  freshMs: number;
  /** Accepted and finished counts older than this are taken as final and kept, so each computation counts
   * only the last seconds, not the whole hour. A job is committed within milliseconds of its createdAt (and
   * finishedAt); one committed later than this (a store outage, retried) is left out of its minute's bar. */
  settleMs: number;
}

interface MinuteCount {
  accepted: number;
  finished: number;
}

/** One computation: the hour's first minute (epoch ms) and the counts, `perMinute` merged (never `settled`). */
export interface CountedOverview {
  at: number;
  firstMinute: number;
  overview: Promise<StoreOverview>;
}

/**
 * The overview's counts of the store, shared and kept: several open dashboards (each refreshing every few
 * seconds) share one computation at most `freshMs` old, and the per-minute counts of the hour are kept once
 * settled, so a computation reads the jobs of the last seconds, not of the hour (on PostgreSQL, with a busy
 * hour, a whole-hour count took half a second of the database's CPU each time).
 */
export class OverviewCounts {
  private last: CountedOverview | undefined;
  /** Per minute, what was accepted and finished before `until`. */
  private settled = { until: 0, minutes: new Map<number, MinuteCount>() };

  constructor(
    private readonly count: (since: number, failingSince: number, settleAt: number) => Promise<StoreOverview>,
    private readonly options: OverviewCountsOptions = { freshMs: 2_000, settleMs: 10_000 },
  ) {}

  at(now: number): CountedOverview {
    if (this.last && now - this.last.at < this.options.freshMs && now >= this.last.at) return this.last;
    const firstMinute = Math.floor(now / 60_000) * 60_000 - 59 * 60_000;
    const before = this.settled;
    const since = Math.max(firstMinute, before.until);
    const settleAt = Math.max(since, now - this.options.settleMs);
    const overview = this.count(since, now - 24 * HOUR, settleAt).then((o) => {
      const kept = new Map([...before.minutes].filter(([minute]) => minute >= firstMinute));
      const shown = new Map([...kept].map(([minute, c]) => [minute, { ...c }]));
      for (const row of o.perMinute) {
        for (const into of row.settled ? [kept, shown] : [shown]) {
          const c = into.get(row.minute) ?? { accepted: 0, finished: 0 };
          into.set(row.minute, { accepted: c.accepted + row.accepted, finished: c.finished + row.finished });
        }
      }
      // A computation slower than freshMs may overlap the next: the first to finish moves on, the other
      // keeps nothing (its settled part is the same rows).
      if (this.settled === before) this.settled = { until: settleAt, minutes: kept };
      const perMinute = [...shown].sort(([a], [b]) => a - b).map(([minute, c]) => ({ minute, settled: false, ...c }));
      return { ...o, perMinute };
    });
    const fresh = { at: now, firstMinute, overview };
    // A failed count is not kept: the next request tries again.
    overview.catch(() => {
      if (this.last === fresh) this.last = undefined;
    });
    this.last = fresh;
    return fresh;
  }
}
