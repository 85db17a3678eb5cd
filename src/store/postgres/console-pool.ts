import pg from 'pg';
import type { StoreGauges, StoreOverview } from '../port.js';
import { GAUGES, OVERVIEW, type AdHoc } from './admin-queries.js';
import { retryTransient } from './connect.js';

/**
 * The console's reads (lists, counts, the overview): a pool of their own, one connection, without parallel
 * workers. So they queue behind each other, never for a connection the gateway's own statements need, and a
 * scan of the jobs table uses one core of the database server rather than all of them. Opened on first use.
 * Searches do not come here: an operator waits for one, so it may use parallel workers (postgres-store.ts).
 */
export class ConsolePool {
  private pool: pg.Pool | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly closed: () => boolean,
  ) {}

  async read<R extends pg.QueryResultRow>(statement: AdHoc): Promise<R[]> {
    if (!this.pool) {
      const options = `${this.config.options ?? ''} -c max_parallel_workers_per_gather=0`.trim();
      this.pool = new pg.Pool({ ...this.config, options, max: 1, idleTimeoutMillis: 30_000 });
      // An idle connection that dies must not take the process down; the next read opens another.
      this.pool.on('error', () => undefined);
    }
    const pool = this.pool;
    return (await retryTransient(this.closed, () => pool.query<R>(statement))).rows;
  }

  /** The overview's parts, one statement after another on the console's one connection. */
  async overview(since: number, failingSince: number, settleAt: number): Promise<StoreOverview> {
    const o = OVERVIEW;
    type Count = { state: string; n: number };
    const byState = (rows: Count[]) => Object.fromEntries(rows.map((r) => [r.state, r.n]));
    const jobs = await this.read<Count>({ text: o.jobsByState, values: [] });
    const perMinute = await this.read<StoreOverview['perMinute'][number]>({ text: o.perMinute, values: [since, settleAt] });
    const oldest = await this.read<{ t: number | null }>({ text: o.oldestQueued, values: [] });
    const deliveries = await this.read<Count>({ text: o.deliveriesByState, values: [] });
    const failingHosts = await this.read<StoreOverview['failingHosts'][number]>({ text: o.failingHosts, values: [failingSince] });
    return { jobsByState: byState(jobs), perMinute, oldestQueuedAt: oldest[0]?.t ?? null, deliveriesByState: byState(deliveries), failingHosts };
  }

  /** /metrics' gauges of the shared store, one statement. */
  async gauges(): Promise<StoreGauges> {
    type Row = { queued: number; running: number; oldestQueuedAt: number | null; oldestPendingDeliveryAt: number | null } & StoreGauges['deliveries'];
    const [g] = await this.read<Row>({ text: GAUGES, values: [] });
    return {
      jobs: { queued: g!.queued, running: g!.running },
      oldestQueuedAt: g!.oldestQueuedAt,
      deliveries: { waiting: g!.waiting, pending: g!.pending, delivering: g!.delivering, failed: g!.failed },
      oldestPendingDeliveryAt: g!.oldestPendingDeliveryAt,
    };
  }

  async end(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }
}
