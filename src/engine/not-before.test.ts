/**
 * Jobs not runnable before a time (NewJob.runAt) on a real SQLite store: accepted queued, never run at once,
 * and started when their time comes by the job worker's wake timer, not by the next poll (here a minute away).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { newJob } from '../store/contract-fixtures.js';
import { SqliteJobStore } from '../store/sqlite/sqlite-store.js';
import { Engine } from './engine.js';
import type { Executor } from './executor.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-not-before-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('engine: a job with a runAt to come is committed queued and starts at its time, not at the next poll', async () => {
  const started = new Map<string, number>();
  const executor: Executor = async ({ job }) => {
    started.set(job.id, Date.now());
    return { kind: 'response', status: 200, headers: [], body: null };
  };
  const store = new SqliteJobStore({ path: join(dir, 'engine.db') });
  const engine = new Engine({ store, executor, log: pino({ level: 'silent' }), concurrency: 2, pollMs: 60_000, rescueEveryMs: 60_000 });
  await engine.start();
  try {
    const t = Date.now();
    const later = newJob({ createdAt: t, runAt: t + 300 });
    const accepted = await engine.accept(later);
    assert.equal(accepted.job.state, 'queued', 'not the direct path: no attempt before its time');
    assert.equal(accepted.job.runAt, t + 300);
    assert.equal(engine.stats.queued, 1, 'it counts as queued');
    // A job due now is not held back by it: a free slot still runs it at once.
    const now = await engine.accept(newJob());
    assert.equal(now.job.state, 'running');
    await until(() => started.has(later.id), 3_000);
    const at = started.get(later.id)!;
    assert.ok(at >= t + 300, `started ${at - t - 300} ms before its runAt`);
    assert.ok(at - (t + 300) <= 150, `started ${at - t - 300} ms after its runAt`);
    await until(() => engine.stats.running === 0);
    assert.equal((await engine.getJob(later.id))?.state, 'succeeded');
  } finally {
    await engine.stop(1000);
    await store.close();
  }
});

test('engine: delayed jobs start in the order of their times, each near its own', async () => {
  const started: Array<{ id: string; at: number }> = [];
  const executor: Executor = async ({ job }) => {
    started.push({ id: job.id, at: Date.now() });
    return { kind: 'response', status: 200, headers: [], body: null };
  };
  const store = new SqliteJobStore({ path: join(dir, 'order.db') });
  const engine = new Engine({ store, executor, log: pino({ level: 'silent' }), concurrency: 4, pollMs: 60_000, rescueEveryMs: 60_000 });
  await engine.start();
  try {
    const t = Date.now();
    // Accepted latest first: the timer is re-armed for each earlier time, then for the next after each wake.
    const jobs = [400, 250, 100].map((d) => newJob({ createdAt: t, runAt: t + d }));
    for (const j of jobs) await engine.accept(j);
    await until(() => started.length === 3, 3_000);
    assert.deepEqual(started.map((s) => s.id), jobs.map((j) => j.id).reverse());
    for (const s of started) {
      const runAt = jobs.find((j) => j.id === s.id)!.runAt!;
      assert.ok(s.at >= runAt && s.at - runAt <= 150, `started ${s.at - runAt} ms from its runAt`);
    }
  } finally {
    await engine.stop(1000);
    await store.close();
  }
});
