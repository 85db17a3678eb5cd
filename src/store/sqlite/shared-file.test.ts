/**
 * Two processes on one SQLite file, one of them frozen (SIGSTOP) while it holds the write lock: the other's
 * event loop keeps running (timers fire, reads answer), its writes wait without blocking it, in order and in
 * one group commit, and complete once the frozen one is continued or killed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newJob } from '../contract-fixtures.js';
import { SqliteJobStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-shared-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Another process on the file: takes the write lock (BEGIN IMMEDIATE, one insert) and commits on a line in. */
const LOCK_HOLDER = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2]);
db.exec('BEGIN IMMEDIATE');
db.prepare("INSERT INTO meta (key, value) VALUES ('other-process', 'x')").run();
process.stdout.write('locked\\n');
process.stdin.once('data', () => { db.exec('COMMIT'); process.stdout.write('committed\\n'); });
`;

async function holdLock(path: string): Promise<{ child: ChildProcess; line: (text: string) => Promise<void> }> {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const child = spawn(process.execPath, ['-e', LOCK_HOLDER, sqlite, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const lines = createInterface({ input: child.stdout! });
  const seen: string[] = [];
  const waiters: Array<() => void> = [];
  lines.on('line', (l) => {
    seen.push(l);
    for (const w of waiters.splice(0)) w();
  });
  const line = async (text: string) => {
    while (!seen.includes(text)) await new Promise<void>((r) => waiters.push(r));
  };
  await line('locked');
  return { child, line };
}

/** Watches the event loop while `during` runs: the longest gap between ticks of a 10 ms interval. */
async function longestGap(during: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  try {
    await during();
  } finally {
    clearInterval(timer);
  }
  return longest;
}

async function scenario(name: string, release: (child: ChildProcess, line: (t: string) => Promise<void>) => Promise<void>, committed: boolean) {
  const path = join(dir, `${name}.db`);
  const store = new SqliteJobStore({ path });
  const existing = await store.insertJob(newJob());
  const { child, line } = await holdLock(path);
  child.kill('SIGSTOP');

  const before = store.writes.stats.batches;
  const order: number[] = [];
  const jobs = Array.from({ length: 20 }, () => newJob());
  const writes = jobs.map((j, i) => store.insertJob(j).then(() => order.push(i)));
  let settled = false;
  const all = Promise.all(writes).finally(() => (settled = true));
  all.catch(() => undefined);

  const gap = await longestGap(async () => {
    // While the lock is held by a frozen process: timers fire, reads answer, the writes wait.
    for (let i = 0; i < 20; i++) await sleep(10);
    assert.equal((await store.getJob(existing.job.id))?.id, existing.job.id);
    assert.equal(await store.tombstoneOwner(existing.job.id, Date.now()), undefined);
    assert.equal(settled, false, 'the writes wait for the lock');
  });
  // busy_timeout on the event loop would have held it for 5 s; a generous bound for a loaded machine.
  assert.ok(gap < 2_000, `the event loop stalled for ${Math.round(gap)} ms`);
  assert.ok(store.writes.stats.lockWaits > 0);

  await release(child, line);
  await all;
  assert.deepEqual(order, jobs.map((_, i) => i), 'in the order they were made');
  assert.equal(store.writes.stats.batches - before, 1, 'one group commit');
  for (const j of jobs) assert.equal((await store.getJob(j.id))?.id, j.id);
  const other = store.db.prepare("SELECT value FROM meta WHERE key = 'other-process'").get();
  assert.equal(other !== undefined, committed);
  await store.close();
}

test('sqlite shared file: the other process frozen with the write lock, then continued and committing', async () => {
  await scenario('continued', async (child, line) => {
    child.kill('SIGCONT');
    child.stdin!.write('commit\n');
    await line('committed');
  }, true);
});

test('sqlite shared file: the other process frozen with the write lock, then killed', async () => {
  await scenario('killed', async (child) => {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }, false);
});
