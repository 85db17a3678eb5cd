import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { ClaimLoop } from './claim-loop.js';

/** A queue of `work` items, claimed through the loop with `capacity` slots (never freed here). */
function harness(work: number, capacity: number) {
  const asks: number[] = [];
  const launched: number[] = [];
  let next = 0;
  let gate: Promise<void> | undefined;
  const loop = new ClaimLoop<number>({
    pollMs: 60_000,
    capacity: () => capacity - launched.length,
    claim: async (n) => {
      asks.push(n);
      if (gate) await gate;
      const items: number[] = [];
      while (items.length < n && next < work) items.push(next++);
      return items;
    },
    launch: (item) => launched.push(item),
    onError: (error) => assert.fail(String(error)),
  });
  return { loop, asks, launched, add: (n: number) => (work += n), hold: (p: Promise<void> | undefined) => (gate = p) };
}

test('claims again only after a full claim: a short one means nothing else was due', async () => {
  const h = harness(5, 4);
  h.loop.start();
  await turn();
  h.loop.stop();
  assert.deepEqual(h.asks, [4]); // full, and then no capacity left
  assert.deepEqual(h.launched, [0, 1, 2, 3]);

  const short = harness(2, 4);
  short.loop.start();
  await turn();
  short.loop.stop();
  assert.deepEqual(short.asks, [4]); // 2 of 4: not asked again
  assert.deepEqual(short.launched, [0, 1]);
});

test('a lookForWork during a claim runs one more pass, which finds the new work', async () => {
  const h = harness(1, 10);
  let open!: () => void;
  h.hold(new Promise<void>((resolve) => (open = resolve)));
  h.loop.start();
  h.add(2);
  h.loop.lookForWork();
  h.loop.lookForWork(); // coalesces with the one above
  h.hold(undefined);
  open();
  await turn();
  await turn();
  h.loop.stop();
  assert.deepEqual(h.launched, [0, 1, 2]);
  assert.deepEqual(h.asks, [10, 7]);
});

test('backlog: set by lookForWork, cleared only by an exhausting claim that began after it; slotFreed claims only then', async () => {
  let due = 3;
  let release: (() => void) | undefined;
  const asks: number[] = [];
  const loop = new ClaimLoop<number>({
    pollMs: 60_000,
    capacity: () => 2,
    claim: async (n) => {
      asks.push(n);
      if (release === undefined) await new Promise<void>((r) => (release = r));
      const got = Math.min(n, due);
      due -= got;
      return Array.from({ length: got }, (_, i) => i);
    },
    launch: () => undefined,
    onError: (error) => assert.fail(String(error)),
  });
  assert.equal(loop.backlog, true); // unknown at start
  loop.start();
  await turn();
  // Work arrives while the first claim is in flight: that claim cannot clear the backlog it did not see.
  due += 1;
  loop.lookForWork();
  release!();
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(due, 0);
  assert.equal(loop.backlog, false);
  const before = asks.length;
  loop.slotFreed(); // nothing waiting: no claim
  await turn();
  assert.equal(asks.length, before);
  loop.lookForWork();
  await turn();
  assert.equal(asks.length, before + 1);
  loop.stop();
});

test('a claim short because a host is at its bound keeps the backlog (exhausted says no), without spinning', async () => {
  let calls = 0;
  const loop = new ClaimLoop<number>({
    pollMs: 60_000,
    capacity: () => 4,
    claim: async () => {
      calls++;
      return [];
    },
    launch: () => undefined,
    onError: (error) => assert.fail(String(error)),
    exhausted: () => false,
  });
  loop.start();
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(calls, 1);
  assert.equal(loop.backlog, true);
  loop.slotFreed();
  await turn();
  assert.equal(calls, 2);
  loop.stop();
});
