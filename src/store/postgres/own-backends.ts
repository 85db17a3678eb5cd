/** The backends a pool opened, so that a store knows which notifications came from itself (postgres-store.ts). */
import type pg from 'pg';

/** The pids of `pool`'s connections (from each one's startup handshake), kept as they connect and go. */
export function ownBackends(pool: pg.Pool): Set<number> {
  const pids = new Set<number>();
  const pidOf = (client: pg.PoolClient) => (client as pg.PoolClient & { processID?: number }).processID;
  pool.on('connect', (client) => {
    const pid = pidOf(client);
    if (pid) pids.add(pid);
  });
  pool.on('remove', (client) => {
    const pid = pidOf(client);
    if (pid) pids.delete(pid);
  });
  return pids;
}
