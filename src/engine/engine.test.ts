/**
 * The engine's fast path on a real SQLite store: a job accepted with a free slot is committed running and
 * started at once; without one it is queued, and a job accepted later never overtakes it; a finishing job
 * hands its callbacks over in the completing commit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import type { Delivery, Job } from '../model.js';
import { newJob } from '../store/contract-fixtures.js';
import type { DeliveryLease } from '../store/port.js';
import { SqliteJobStore } from '../store/sqlite/sqlite-store.js';
import type { CallbackHandoff } from './callback-handoff.js';
import { Engine } from './engine.js';
import type { Executor } from './executor.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-engine-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** An executor whose attempts wait until released, recording the order they started in. */
function gatedExecutor() {
  const started: string[] = [];
  const gates = new Map<string, () => void>();
  const executor: Executor = async ({ job }) => {
    started.push(job.id);
    await new Promise<void>((resolve) => gates.set(job.id, resolve));
    return { kind: 'response', status: 200, headers: [['content-type', 'text/plain']], body: bodyOf(`done ${job.id}`) };
  };
  const release = (id: string) => gates.get(id)?.();
  return { executor, started, release, gates };
}

async function* bodyOf(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function engineWith(executor: Executor, concurrency: number) {
  const store = new SqliteJobStore({ path: join(dir, `engine-${n++}.db`) });
  const engine = new Engine({ store, executor, log: pino({ level: 'silent' }), concurrency, pollMs: 60_000, rescueEveryMs: 60_000 });
  return { store, engine };
}

test('engine: a job accepted with a free slot is committed running, leased here, and started at once', async () => {
  const x = gatedExecutor();
  const { store, engine } = engineWith(x.executor, 2);
  await engine.start();
  try {
    const { job, created } = await engine.accept(newJob());
    assert.equal(created, true);
    assert.equal(job.state, 'running');
    const row = await store.getJob(job.id);
    assert.equal(row?.state, 'running');
    assert.equal(row?.leaseOwner, engine.workerId);
    await until(() => x.started.includes(job.id));
    x.release(job.id);
    await until(async () => (await store.getJob(job.id))?.state === 'succeeded');
  } finally {
    await engine.stop(100);
    await store.close();
  }
});

test('engine: with no free slot a job is queued, and one accepted after it never overtakes it', async () => {
  const x = gatedExecutor();
  const { store, engine } = engineWith(x.executor, 1);
  await engine.start();
  try {
    const a = (await engine.accept(newJob())).job;
    assert.equal(a.state, 'running');
    const b = (await engine.accept(newJob())).job;
    assert.equal(b.state, 'queued');
    await until(() => x.started.length === 1);
    // Hold the next claim, so that A's slot is free while B still waits in the queue.
    const claim = store.claimJobs.bind(store);
    let openClaims: () => void = () => undefined;
    const claimsOpen = new Promise<void>((resolve) => (openClaims = resolve));
    store.claimJobs = async (...args) => {
      await claimsOpen;
      return claim(...args);
    };
    x.release(a.id);
    await until(() => engine.stats.running === 0);
    // A slot is free, but B is queued: C must not start ahead of it.
    const c = (await engine.accept(newJob())).job;
    assert.equal(c.state, 'queued');
    openClaims();
    await until(() => x.started.length === 2);
    x.release(b.id);
    await until(() => x.started.length === 3);
    x.release(c.id);
    assert.deepEqual(x.started, [a.id, b.id, c.id]);
    await until(async () => (await store.getJob(c.id))?.state === 'succeeded');
  } finally {
    await engine.stop(100);
    await store.close();
  }
});

test('engine: a finishing job hands its callbacks over in the completing commit, the result in hand', async () => {
  const x = gatedExecutor();
  const { store, engine } = engineWith(x.executor, 2);
  const launched: Array<{ lease: DeliveryLease; job: Job; result: Uint8Array | null; deliveries: readonly Delivery[] }> = [];
  const reserved: string[][] = [];
  let dueCalls = 0;
  const handoff: CallbackHandoff = {
    reserve: (hosts) => {
      reserved.push([...hosts]);
      return { owner: 'deliverer', leaseMs: 10_000, hosts: { 'a.example': 1 } }; // no room for b.example
    },
    launch: (lease, job, result, deliveries) => void launched.push({ lease, job, result, deliveries }),
    release: () => undefined,
    lookForWork: () => void dueCalls++,
  };
  engine.handOffCallbacksTo(handoff);
  await engine.start();
  try {
    const callbacks = [
      { id: 'msg_engine_a', url: 'https://a.example/cb', method: 'POST' as const, mode: 'response' as const, secret: null },
      { id: 'msg_engine_b', url: 'https://b.example:8443/cb', method: 'POST' as const, mode: 'response' as const, secret: null },
    ];
    const { job } = await engine.accept(newJob({ callbacks }));
    assert.deepEqual(job.options.callbackHosts, ['a.example', 'b.example:8443']);
    await until(() => x.started.includes(job.id));
    x.release(job.id);
    await until(() => launched.length === 1);
    assert.deepEqual(reserved, [['a.example', 'b.example:8443']]);
    const [l] = launched;
    assert.equal(l!.job.state, 'succeeded');
    assert.equal(Buffer.from(l!.result!).toString(), `done ${job.id}`);
    assert.deepEqual(l!.deliveries.map((d) => [d.id, d.state, d.leaseOwner]), [['msg_engine_a', 'delivering', 'deliverer']]);
    // The callback without a slot was made due, and the delivery side told so.
    assert.equal((await store.getDelivery('msg_engine_b'))?.state, 'pending');
    assert.ok(dueCalls >= 1);
  } finally {
    await engine.stop(100);
    await store.close();
  }
});
