import { describeConnectError, isPermanentConnectError, isTransient, parsePgUrl } from './connect.js';
import { PostgresJobStore, type PostgresStoreEvents } from './postgres-store.js';

export interface OpenPostgresOptions extends PostgresStoreEvents {
  /** PostgreSQL is not reachable yet: asyncgate waits `delayMs` and tries again. `message` says why and when,
   * ready for the log. */
  onRetry?: (message: string, delayMs: number) => void;
  /** Stop retrying after this long and fail (default: keep trying). */
  giveUpAfterMs?: number;
  signal?: AbortSignal;
}

/** Thrown when PostgreSQL refuses for a reason waiting will not fix (credentials, missing database). */
export class PostgresUnavailableError extends Error {
  override readonly name = 'PostgresUnavailableError';
  readonly code = 'postgres-unavailable';
}

/**
 * Open the PostgreSQL store, waiting for the server if it is down: a clear reason each time and a growing
 * delay (up to 5 s) instead of a crash loop. Wrong credentials or a missing database fail at once.
 */
export async function openPostgres(url: string, options: OpenPostgresOptions = {}): Promise<PostgresJobStore> {
  const target = parsePgUrl(url);
  const started = Date.now();
  for (let delay = 500; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await PostgresJobStore.open(target, options);
    } catch (error) {
      const reason = describeConnectError(error, target);
      if (isPermanentConnectError(error)) throw new PostgresUnavailableError(reason);
      if (!isTransient(error)) throw error;
      // Wait the whole limit (the last pause is cut to what is left of it), and say how long it really took.
      const left = options.giveUpAfterMs === undefined ? delay : options.giveUpAfterMs - (Date.now() - started);
      if (left <= 0) {
        const seconds = (ms: number) => (Math.floor(ms / 100) / 10).toFixed(1);
        throw new PostgresUnavailableError(`${reason}; gave up after ${seconds(Date.now() - started)} s (--wait limit ${seconds(options.giveUpAfterMs!)} s)`);
      }
      const pause = Math.min(delay, left);
      options.onRetry?.(`${reason}; retrying in ${Math.round(pause / 100) / 10} s`, pause);
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (options.signal?.aborted) throw new PostgresUnavailableError(`${reason}; stopped waiting`);
    }
  }
}
