/**
 * Runs the operator console's reads (lists, search, counts, the overview) on a worker thread with its own
 * read-only connection (reader-worker.ts), so a query over 100,000 jobs costs the event loop a message, not
 * the query: accepts, polls and heartbeats go on meanwhile. Started on the first read, restarted on the next
 * read after it died, terminated by close().
 */
import Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';
import type { ConsoleRead, ReadArgs, ReadReply, ReadRequest, ReadResult } from './console-reads.js';
import { storeError } from './sqlite-errors.js';

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The worker's module beside this one: `.js` when built, `.ts` when run from source under tsx (the tests). */
function startWorker(path: string): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './reader-worker.ts' : './reader-worker.js', import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData: { path } });
  // tsx's hooks do not reach a worker through --import on Node 20: the worker registers them itself first.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData: { path } });
}

/** The error as the store would have thrown it in-thread: SQLite's own error class, then storeError(). */
function revive(e: { name: string; message: string; code: string | undefined }): unknown {
  if (e.code?.startsWith('SQLITE_')) return storeError(new Database.SqliteError(e.message, e.code));
  return Object.assign(new Error(e.message), { name: e.name, ...(e.code === undefined ? {} : { code: e.code }) });
}

export class ConsoleReader {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private closed = false;

  /** `path`: the store's file (a file, not `:memory:`: another connection must be able to open it). */
  constructor(private readonly path: string) {}

  read<K extends ConsoleRead>(op: K, args: ReadArgs<K>): Promise<ReadResult<K>> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<ReadResult<K>>((resolve, reject) => {
      // Referenced only while a read is out: an idle reader never keeps the process alive.
      if (this.waiting.size === 0) worker.ref();
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, op, args } satisfies ReadRequest);
    });
  }

  /** Terminate the thread; reads still out reject. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the store was closed before the console read finished'));
    await worker?.terminate();
  }

  private start(): Worker {
    const worker = startWorker(this.path);
    worker.unref();
    worker.on('message', (reply: ReadReply) => {
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      if ('error' in reply) w.reject(revive(reply.error));
      else w.resolve(reply.value);
    });
    // A thread that died (an uncaught error, out of memory) fails what it held; the next read starts another.
    const died = (error: unknown) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(error);
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`the console's reader thread exited (code ${code})`)));
    return worker;
  }

  private failAll(error: unknown): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(error);
  }
}
