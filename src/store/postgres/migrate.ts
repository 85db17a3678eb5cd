import type pg from 'pg';
import type { MigrationOutcome } from '../port.js';
import { PG_MIGRATIONS } from './schema.js';

/**
 * Bring `schema` up to the latest migration, each in the same transaction as its bookkeeping row. An advisory
 * lock serialises processes that start together; a database newer than this asyncgate is refused.
 */
export async function migratePostgres(client: pg.ClientBase, schema: string): Promise<MigrationOutcome> {
  const table = `${schema}.asyncgate_migrations`;
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`asyncgate.migrate.${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ v: number }>(`SELECT coalesce(max(version), 0)::int AS v FROM ${table}`);
    const from = rows[0]!.v;
    if (from > PG_MIGRATIONS.length) {
      throw new Error(
        `database schema "${schema}" is at migration ${from}, newer than this asyncgate (${PG_MIGRATIONS.length}); upgrade asyncgate`,
      );
    }
    await client.query(`SET LOCAL search_path = ${schema}`);
    for (let v = from; v < PG_MIGRATIONS.length; v++) {
      await client.query(PG_MIGRATIONS[v]!);
      await client.query(`INSERT INTO ${table} (version) VALUES ($1)`, [v + 1]);
    }
    await client.query('COMMIT');
    return { from, to: PG_MIGRATIONS.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The migration the database is at now (readiness compares it with the one this process migrated to). */
export async function appliedMigration(pool: pg.Pool, schema: string): Promise<number> {
  const { rows } = await pool.query<{ v: number }>(`SELECT coalesce(max(version), 0)::int AS v FROM ${schema}.asyncgate_migrations`);
  return rows[0]!.v;
}
