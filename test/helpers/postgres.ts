import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL the tests use: the machine's own (trust auth), database `test`. */
export const PG_URL = process.env.ASYNCGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let availability: Promise<boolean> | undefined;

/**
 * Is PostgreSQL there? In CI (`CI=true`) its absence is a failure, not a skip; elsewhere the tests that need
 * it are skipped with a message nobody can miss.
 */
export function postgresAvailable(): Promise<boolean> {
  availability ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (error) {
      const message = `PostgreSQL is not reachable at ${PG_URL}: ${(error as Error).message}`;
      if (process.env.CI === 'true') throw new Error(`${message} — CI requires it`);
      process.stderr.write(`\n${'!'.repeat(100)}\n!!! SKIPPING PostgreSQL tests: ${message}\n${'!'.repeat(100)}\n\n`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return availability;
}

/** A fresh schema name for one test file (or one test), so files run in parallel without seeing each other. */
export function uniqueSchema(prefix: string): string {
  return `t_${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(5).toString('hex')}`;
}

export function schemaUrl(schema: string, extra = ''): string {
  return `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}${extra}`;
}

/** Run SQL as the admin connection (e.g. pg_terminate_backend, DROP SCHEMA). */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchemas(schemas: Iterable<string>): Promise<void> {
  for (const s of schemas) await adminQuery(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
}
