/**
 * Tombstones written before their owner was kept (SQLite migration 6, PostgreSQL migration 4) get the owner
 * '', which no caller matches: they answer 404 to everyone instead of 410 to anyone.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { adminQuery, dropSchemas, postgresAvailable, schemaUrl, uniqueSchema } from '../../test/helpers/postgres.js';
import { sameOwner } from '../engine/ids.js';
import { parsePgUrl } from './postgres/connect.js';
import { PostgresJobStore } from './postgres/postgres-store.js';
import { PG_MIGRATIONS } from './postgres/schema.js';
import { SQLITE_MIGRATIONS } from './sqlite/schema.js';
import { SqliteJobStore } from './sqlite/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-tombstones-'));
const schemas = new Set<string>();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchemas(schemas);
});
const until = Date.now() + 60_000;

test('sqlite: a tombstone from before migration 6 has an owner no caller matches', async () => {
  const path = join(dir, 'legacy.db');
  const old = new Database(path);
  for (const [i, sql] of SQLITE_MIGRATIONS.slice(0, 5).entries()) {
    old.exec(sql);
    old.pragma(`user_version = ${i + 1}`);
  }
  old.prepare('INSERT INTO tombstones (id, expires_at) VALUES (?, ?)').run('legacy', until);
  old.close();
  const store = new SqliteJobStore({ path });
  const owner = await store.tombstoneOwner('legacy', Date.now());
  assert.equal(owner, '');
  assert.equal(sameOwner(owner!, null) || sameOwner(owner!, 'a'.repeat(64)), false);
  await store.close();
});

const available = await postgresAvailable();

test('postgres: a tombstone from before migration 4 has an owner no caller matches', { skip: !available && 'PostgreSQL not reachable' }, async () => {
  const schema = uniqueSchema('tomb');
  schemas.add(schema);
  const store = await PostgresJobStore.open(parsePgUrl(schemaUrl(schema)));
  await store.close();
  // The table as it was before migration 4, with a tombstone in it.
  await adminQuery(`ALTER TABLE ${schema}.tombstones DROP COLUMN owner`);
  await adminQuery(`DROP TABLE ${schema}.job_search`);
  await adminQuery(`DROP INDEX ${schema}.jobs_idempotency_key, ${schema}.jobs_created, ${schema}.jobs_finished`);
  await adminQuery(`ALTER TABLE ${schema}.jobs DROP COLUMN attempt_started_at, DROP COLUMN attempt_log, DROP COLUMN progress_log`);
  await adminQuery(`DROP TABLE ${schema}.push_subscriptions`); // migration 8
  await adminQuery(`DROP TABLE ${schema}.url_groups, ${schema}.schedules`); // the messaging migration
  await adminQuery(`DELETE FROM ${schema}.asyncgate_migrations WHERE version >= 4`);
  await adminQuery(`INSERT INTO ${schema}.tombstones (id, expires_at) VALUES ('legacy', $1)`, [until]);
  const reopened = await PostgresJobStore.open(parsePgUrl(schemaUrl(schema)));
  assert.deepEqual(reopened.migration, { from: 3, to: PG_MIGRATIONS.length });
  assert.equal(await reopened.tombstoneOwner('legacy', Date.now()), '');
  await reopened.close();
});
