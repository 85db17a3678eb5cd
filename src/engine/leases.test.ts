/**
 * Leases under store faults, on a real SQLite store: the heartbeat renews only the attempts running in this
 * process (an attempt that ended with its completion unrecorded must lapse and be rescued); an ending write
 * that fails with a fault that passes is retried while the attempt keeps its lease; a requeued attempt's log
 * line says what went wrong. The disk really filling up is in test/e2e/disk-full.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import pino from 'pino';
import { collect, newJob } from '../store/contract-fixtures.js';
import { StorageFullError } from '../store/errors.js';
import { SqliteJobStore } from '../store/sqlite/sqlite-store.js';
import { Engine } from './engine.js';
import type { Executor, Outcome } from './executor.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-leases-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** JSON log lines collected in memory. */
function capturedLog() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

function engineWith(executor: Executor, log = pino({ level: 'silent' })) {
  const store = new SqliteJobStore({ path: join(dir, `leases-${n++}.db`) });
  // Timers far away: each test runs the duties itself.
  const engine = new Engine({ store, executor, log, concurrency: 4, leaseMs: 60_000, pollMs: 60_000, rescueEveryMs: 60_000 });
  return { store, engine };
}

const ok = (text: string): Outcome => ({
  kind: 'response',
  status: 200,
  headers: [['content-type', 'text/plain']],
  body: (async function* () {
    yield Buffer.from(text);
  })(),
});

test('the heartbeat renews only attempts running here: one that ended unrecorded lapses and is rescued', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { store, engine } = engineWith(async ({ signal }) => {
    await Promise.race([gate, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
    return ok('done');
  });
  await engine.start();
  try {
    const running = (await engine.accept(newJob({}, { retryable: true }))).job;
    assert.equal(running.state, 'running');
    // A job leased to this process whose attempt is not running any more: its completion could not be stored.
    const past = Date.now() - 10_000;
    const ended = (await store.insertJob(newJob({ createdAt: past }, { retryable: true }), { owner: engine.workerId, now: past, leaseMs: 1_000 })).job;
    assert.equal(await engine.duties.heartbeat(), 1);
    assert.ok((await store.getJob(running.id))!.leaseExpiresAt! > Date.now() + 30_000);
    assert.equal((await store.getJob(ended.id))?.leaseExpiresAt, past + 1_000);
    const rescued = await engine.duties.rescue();
    assert.deepEqual(rescued.requeued, [ended.id]);
    release();
    await until(async () => (await store.getJob(running.id))?.state === 'succeeded' && (await store.getJob(ended.id))?.state === 'succeeded');
  } finally {
    await engine.stop(100);
    await store.close();
  }
});

test('a completion the store refuses for lack of space is retried, its lease renewed meanwhile, until it is stored', async () => {
  const { store, engine } = engineWith(async () => ok('kept'));
  // The real store, its completions refused as a full disk refuses them (StorageFullError) until space is freed.
  let full = true;
  let refused = 0;
  const complete = store.completeJob.bind(store);
  store.completeJob = async (...args) => {
    if (full) {
      refused++;
      throw new StorageFullError('database or disk is full');
    }
    return complete(...args);
  };
  await engine.start();
  try {
    const { job } = await engine.accept(newJob({}, { retryable: true }));
    await until(() => refused >= 3);
    assert.equal((await store.getJob(job.id))?.state, 'running');
    assert.equal(engine.stats.running, 1);
    // Still running here: the heartbeat renews its lease, so no rescue takes it.
    assert.equal(await engine.duties.heartbeat(), 1);
    assert.deepEqual((await engine.duties.rescue()).requeued, []);
    full = false;
    await until(async () => (await store.getJob(job.id))?.state === 'succeeded');
    assert.equal((await collect(store.readResult(job.id))).toString(), 'kept');
    assert.equal(engine.stats.running, 0);
  } finally {
    await engine.stop(100);
    await store.close();
  }
});

test('shutdown stops the retries of an ending write, even after the attempt timed out', async () => {
  const { store, engine } = engineWith(async ({ signal }) => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    return { kind: 'fail', error: { code: 'upstream-timeout', message: 'timed out' } };
  });
  let refused = 0;
  store.completeJob = async () => {
    refused++;
    throw new StorageFullError('database or disk is full');
  };
  await engine.start();
  try {
    const { job } = await engine.accept(newJob({}, { timeoutMs: 20 }));
    await until(() => refused >= 2);
    assert.equal(engine.stats.running, 1);
    // The grace period ends: the attempt is aborted and its lease handed back (this must not wait forever).
    await engine.stop(50);
    assert.equal(engine.stats.running, 0);
    assert.equal((await store.getJob(job.id))?.state, 'failed');
  } finally {
    await store.close();
  }
});

test('a retried attempt\'s log line says what went wrong', async () => {
  const { log, lines } = capturedLog();
  let tries = 0;
  const { store, engine } = engineWith(async () => {
    if (++tries === 1) return { kind: 'retry', sent: false, error: { code: 'upstream-unreachable', message: 'connect ECONNREFUSED 127.0.0.1:9' }, delayMs: 0 };
    return ok('second time');
  }, log);
  await engine.start();
  try {
    const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
    const { job } = await engine.accept(newJob({}, { trace }));
    await until(() => lines.some((l) => l.msg === 'attempt failed; retrying'));
    const line = lines.find((l) => l.msg === 'attempt failed; retrying')!;
    assert.equal(line.job_id, job.id);
    assert.equal(line.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.deepEqual(line.error, { code: 'upstream-unreachable', message: 'connect ECONNREFUSED 127.0.0.1:9' });
  } finally {
    await engine.stop(100);
    await store.close();
  }
});
