import { existsSync } from 'node:fs';
import { MAX_SHARDS } from '../../shared/shards.js';
import { StoreUrlError } from '../errors.js';
import { SqliteJobStore } from '../sqlite/sqlite-store.js';

/**
 * Where shard `k` of the SQLite database at `path` lives: shard 0 is the file itself (so a database from a
 * single process is shard 0 as it is), shard k the same name with `.shard<k>` before its extension
 * (`jobs.db` → `jobs.shard1.db`), each with its own -wal and -shm.
 */
export function shardPath(path: string, k: number): string {
  if (k === 0) return path;
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)}.shard${k}${path.slice(dot)}` : `${path}.shard${k}`;
}

/** Shards already on disk next to `path`: 1 + the highest k whose file exists, counting from 1 up (0 when
 * not even `path` exists). */
export function existingShards(path: string): number {
  if (!existsSync(path)) return 0;
  let n = 1;
  while (n < MAX_SHARDS && existsSync(shardPath(path, n))) n++;
  return n;
}

/**
 * Before the workers start: how many shards the store has (as many as workers, or more when an earlier run
 * had more workers: no shard is left behind, some workers then own two), each file created and migrated by
 * this one process, so workers never race to migrate.
 */
export async function prepareShards(path: string, workers: number): Promise<number> {
  if (workers > MAX_SHARDS) throw new StoreUrlError(`--workers ${workers}: SQLite has at most ${MAX_SHARDS} shards (one per worker)`);
  const count = Math.max(workers, existingShards(path));
  for (let k = 0; k < count; k++) await new SqliteJobStore({ path: shardPath(path, k), consoleReader: false }).close();
  return count;
}
