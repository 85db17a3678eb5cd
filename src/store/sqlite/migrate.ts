import type Database from 'better-sqlite3';
import type { MigrationOutcome } from '../port.js';
import { SQLITE_MIGRATIONS } from './schema.js';

/** Apply the migrations this file lacks, each in its own transaction; `PRAGMA user_version` counts them. A
 * database newer than this asyncgate is refused. */
export function migrate(db: Database.Database): MigrationOutcome {
  const applied = db.pragma('user_version', { simple: true }) as number;
  if (applied > SQLITE_MIGRATIONS.length) {
    throw new Error(
      `database schema version ${applied} is newer than this asyncgate (${SQLITE_MIGRATIONS.length}); upgrade asyncgate`,
    );
  }
  for (let v = applied; v < SQLITE_MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(SQLITE_MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return { from: applied, to: SQLITE_MIGRATIONS.length };
}
