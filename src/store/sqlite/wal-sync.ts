import type Database from 'better-sqlite3';
import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SyncFn } from './write-queue.js';

export interface WalSync {
  sync: SyncFn;
  close(): void;
}

/**
 * Durability without blocking the event loop: SQLite runs with synchronous=NORMAL (in WAL mode a COMMIT then
 * writes its frames to the WAL but does not fsync), and `sync` fdatasyncs the WAL file on libuv's thread
 * pool, which is what synchronous=FULL would do inside the COMMIT. The WriteQueue acknowledges a write only
 * after that. fdatasync works on the file, whichever descriptor wrote it; the WAL file stays the same file
 * while this connection is open (SQLite deletes it only when the last connection closes). Checkpoints still
 * sync the WAL and the database file themselves under NORMAL.
 *
 * Returns undefined when the database has no WAL file (in memory): the caller then keeps synchronous=FULL.
 */
export function openWalSync(db: Database.Database, path: string): WalSync | undefined {
  if (path === ':memory:' || db.pragma('journal_mode', { simple: true }) !== 'wal') return undefined;
  db.pragma('user_version'); // a read transaction: creates the WAL file if it is not there yet
  let fd: number;
  try {
    fd = openSync(`${path}-wal`, 'r');
  } catch {
    return undefined;
  }
  // What SQLite does on a WAL file's first sync: make its directory entry durable too.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  db.pragma('synchronous = NORMAL');
  return {
    sync: () => new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve()))),
    close: () => closeSync(fd),
  };
}
