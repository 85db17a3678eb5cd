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
      if (options.giveUpAfterMs !== undefined && Date.now() - started + delay > options.giveUpAfterMs) {
        throw new PostgresUnavailableError(`${reason}; gave up after ${Math.round((Date.now() - started) / 1000)} s`);
      }
      options.onRetry?.(`${reason}; retrying in ${Math.round(delay / 100) / 10} s`, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (options.signal?.aborted) throw new PostgresUnavailableError(`${reason}; stopped waiting`);
    }
  }
}
