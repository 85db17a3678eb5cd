/**
 * The console's reader thread (console-reader.ts starts it): a read-only connection of its own to the store's
 * file, running the console's reads (console-reads.ts, the same code the store runs in-thread) so that a
 * search or an overview over many jobs never holds the event loop. In WAL mode its reads neither wait for
 * the writer nor hold it up.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteAdminQueries } from './admin-queries.js';
import { runRead, type ReadReply, type ReadRequest } from './console-reads.js';

const { path } = workerData as { path: string };
const db = new Database(path, { readonly: true, fileMustExist: true });
// Waiting for a lock here holds only this thread (WAL recovery by another process, say), never the event loop.
db.pragma('busy_timeout = 5000');
const queries = new SqliteAdminQueries(db);
const port = parentPort!;

port.on('message', (m: ReadRequest) => {
  let reply: ReadReply;
  try {
    reply = { id: m.id, value: runRead(queries, m.op, m.args as never) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const code = (e as { code?: unknown }).code;
    reply = { id: m.id, error: { name: e.name, message: e.message, code: typeof code === 'string' ? code : undefined } };
  }
  port.postMessage(reply);
});
