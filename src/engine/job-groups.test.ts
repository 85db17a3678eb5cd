/**
 * Job groups in the engine on a real SQLite store: a grouped job never takes the direct path, and the end of a
 * grouped attempt looks for work at once, so a FIFO queue of parallelism 1 advances job after job without
 * waiting for the poll (here a minute away).
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

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-job-groups-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

function engineOn(name: string, executor: Executor): { engine: Engine; store: SqliteJobStore } {
  const store = new SqliteJobStore({ path: join(dir, `${name}.db`) });
  const engine = new Engine({ store, executor, log: pino({ level: 'silent' }), concurrency: 8, pollMs: 60_000, rescueEveryMs: 60_000 });
  return { engine, store };
}

test('engine: a FIFO group of parallelism 1 runs its 20 jobs strictly in order, one at a time, in well under a second', async () => {
  const order: string[] = [];
  let running = 0;
  let most = 0;
  const executor: Executor = async ({ job }) => {
    running++;
    most = Math.max(most, running);
    order.push(job.id);
    await new Promise((r) => setImmediate(r));
    running--;
    return { kind: 'response', status: 200, headers: [], body: null };
  };
  const { engine, store } = engineOn('fifo', executor);
  await engine.start();
  try {
    await store.putGroup({ key: 'queue', parallelism: 1, fifo: true, paused: false }, Date.now());
    const ids: string[] = [];
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const id = engine.newJobId(null, undefined, 'queue');
      ids.push(id);
      const { job } = await engine.accept(newJob({ id, group: 'queue' }));
      assert.equal(job.state, 'queued', 'a grouped job is never run at once by the accepting process');
    }
    await until(() => order.length === 20 && engine.stats.running === 0, 3_000);
    const took = Date.now() - started;
    assert.deepEqual(order, ids, 'in acceptance order');
    assert.equal(most, 1, 'one at a time');
    assert.ok(took < 700, `took ${took} ms: no poll waits`);
    for (const id of ids) assert.equal((await store.getJob(id))?.state, 'succeeded');
  } finally {
    await engine.stop(1000);
    await store.close();
  }
});

test('engine: groupChanged() starts the jobs of a group just resumed, without waiting for the poll', async () => {
  const done = new Set<string>();
  const executor: Executor = async ({ job }) => {
    done.add(job.id);
    return { kind: 'response', status: 200, headers: [], body: null };
  };
  const { engine, store } = engineOn('resume', executor);
  await engine.start();
  try {
    await store.putGroup({ key: 'held', parallelism: 2, fifo: false, paused: true }, Date.now());
    const jobs = [newJob({ group: 'held' }), newJob({ group: 'held' })];
    for (const j of jobs) await engine.accept(j);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done.size, 0, 'paused: nothing runs');
    // An ungrouped job still runs at once beside the paused group's backlog.
    const free = await engine.accept(newJob());
    await until(() => done.has(free.job.id), 1_000);
    await store.putGroup({ key: 'held', parallelism: 2, fifo: false, paused: false }, Date.now());
    engine.groupChanged();
    await until(() => jobs.every((j) => done.has(j.id)), 500);
  } finally {
    await engine.stop(1000);
    await store.close();
  }
});
