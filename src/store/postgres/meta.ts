/** The store's named values (the server's secrets: owner salt, signing keys…), in the `meta` table. */
import type { RunStatement } from './grouped-writes.js';

/** The value named `name`, made by `create` (and stored) the first time. */
export async function secret(run: RunStatement, name: string, create: () => string): Promise<string> {
  const [row] = await run<{ value: string }>('getMeta', [name]);
  if (row) return row.value;
  // Two processes starting together may both create one: the first insert wins and both read it back.
  await run('setMeta', [name, create()]);
  const [stored] = await run<{ value: string }>('getMeta', [name]);
  return stored!.value;
}

export async function read(run: RunStatement, name: string): Promise<string | undefined> {
  return (await run<{ value: string }>('getMeta', [name]))[0]?.value;
}

/** Set (or with null, remove) the value named `name`. */
export async function write(run: RunStatement, name: string, value: string | null): Promise<void> {
  if (value === null) await run('deleteMeta', [name]);
  else await run('replaceMeta', [name, value]);
}
