/**
 * The committed schema snapshots must match what the migrations build. A change to the schema is then always
 * a reviewed diff of `schema.snapshot.sql`, and an edit to a released migration (instead of a new one) shows.
 * Refresh after adding a migration with: npm run schema:snapshot
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type Database from 'better-sqlite3';
import pg from 'pg';
import { dropSchemas, PG_URL, postgresAvailable, uniqueSchema } from '../../test/helpers/postgres.js';
import { migratePostgres } from './postgres/migrate.js';
import { SqliteJobStore } from './sqlite/sqlite-store.js';

const UPDATE = process.env.UPDATE_SCHEMA_SNAPSHOT === '1';
const HINT = 'the migrations no longer build the committed schema snapshot: if the change is intended, add a NEW migration (never edit a released one) and run `npm run schema:snapshot`';

function check(file: string, actual: string): void {
  const path = join(import.meta.dirname, file);
  if (UPDATE) writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'), HINT);
}

test('sqlite: migrations build exactly schema.snapshot.sql', () => {
  const store = new SqliteJobStore({ path: ':memory:' });
  const db: Database.Database = store.db;
  const rows = db
    .prepare(`SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name`)
    .all() as Array<{ sql: string }>;
  const version = db.pragma('user_version', { simple: true }) as number;
  const text = `-- SQLite schema at migration ${version} (generated: npm run schema:snapshot)\n\n${rows
    .map((r) => `${r.sql.replace(/\s+/g, ' ').trim()};`)
    .join('\n')}\n`;
  void store.close();
  check('sqlite/schema.snapshot.sql', text);
});

const available = await postgresAvailable();
const schemas: string[] = [];
after(() => dropSchemas(schemas));

test('postgres: migrations build exactly schema.snapshot.sql', { skip: !available && 'PostgreSQL not reachable' }, async () => {
  const schema = uniqueSchema('snapshot');
  schemas.push(schema);
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { to } = await migratePostgres(client, schema);
    const q = async (text: string) => (await client.query<{ line: string }>(text, [schema])).rows.map((r) => r.line);
    const columns = await q(`SELECT table_name || '.' || column_name || ' ' || data_type
        || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END
        || coalesce(' DEFAULT ' || column_default, '') AS line
      FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`);
    const constraints = await q(`SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS line
      FROM pg_constraint WHERE connamespace = $1::regnamespace ORDER BY 1`);
    const indexes = await q(`SELECT indexdef AS line FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`);
    const triggers = await q(`SELECT pg_get_triggerdef(t.oid) AS line FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE c.relnamespace = $1::regnamespace AND NOT t.tgisinternal ORDER BY t.tgname`);
    const functions = await q(`SELECT pg_get_functiondef(p.oid) AS line FROM pg_proc p WHERE p.pronamespace = $1::regnamespace
      ORDER BY p.proname`);
    const text = [
      `-- PostgreSQL schema at migration ${to} (generated: npm run schema:snapshot)`,
      '',
      '-- columns',
      ...columns,
      '',
      '-- constraints',
      ...constraints,
      '',
      '-- indexes',
      ...indexes,
      '',
      '-- triggers',
      ...triggers,
      '',
      '-- functions',
      ...functions.map((f) => f.trim()),
      '',
    ]
      .join('\n')
      .replaceAll(`${schema}.`, '');
    check('postgres/schema.snapshot.sql', text);
  } finally {
    await client.end();
  }
});
