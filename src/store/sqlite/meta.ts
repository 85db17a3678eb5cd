/** The store's named values (the server's secrets: owner salt, signing keys…), in the `meta` table. */
import type { Statements } from './sql.js';
import type { WriteQueue } from './write-queue.js';

/** The value named `name`, made by `create` (and stored) the first time. */
export function secret(writes: WriteQueue, sql: Statements, name: string, create: () => string): Promise<string> {
  return writes.write(() => {
    const row = sql.getMeta.get(name) as { value: string } | undefined;
    if (row) return row.value;
    const value = create();
    sql.setMeta.run(name, value);
    return value;
  });
}

export async function read(writes: WriteQueue, sql: Statements, name: string): Promise<string | undefined> {
  return (await writes.read(() => sql.getMeta.get(name) as { value: string } | undefined))?.value;
}

/** Set (or with null, remove) the value named `name`. */
export function write(writes: WriteQueue, sql: Statements, name: string, value: string | null): Promise<void> {
  return writes.write(() => {
    if (value === null) sql.deleteMeta.run(name);
    else sql.replaceMeta.run(name, value);
  });
}
