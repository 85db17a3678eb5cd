import pg from 'pg';
import type { AdHoc } from './admin-queries.js';
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

  async end(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }
}
