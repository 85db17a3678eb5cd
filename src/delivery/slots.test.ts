import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Slots } from './slots.js';

test('slots: a host at its bound gets no start, but callbacks may be held for it; the overall bound caps holding', () => {
  const s = new Slots<string>(4, 2);
  s.take('a');
  s.take('a');
  assert.equal(s.canStart('a'), false);
  assert.equal(s.canStart('b'), true);
  // Room to hold four for a (the overall bound: 4 × perHost would be 8), promised first, then held.
  for (let i = 0; i < 4; i++) assert.equal(s.promise('a'), true);
  assert.equal(s.promise('a'), false);
  s.unpromise('a', 4);
  s.hold('a', 'a1');
  s.hold('a', 'a2');
  assert.equal(s.promise('a'), true);
  s.unpromise('a');
  // Nothing may start while a is full.
  assert.equal(s.nextHeld(), undefined);
  s.freeHost('a');
  s.done();
  assert.deepEqual(s.nextHeld(), { host: 'a', item: 'a1' });
  assert.equal(s.running, 2);
  assert.equal(s.nextHeld(), undefined);
});

test('slots: held callbacks of several hosts take turns under the overall bound', () => {
  const s = new Slots<string>(1, 5);
  s.take('x');
  for (const item of ['a1', 'a2', 'b1', 'b2']) s.hold(item[0]!, item);
  const order: string[] = [];
  for (let i = 0; i < 4; i++) {
    s.freeHost(order.length ? order.at(-1)![0]! : 'x');
    s.done();
    const next = s.nextHeld();
    order.push(next!.item);
  }
  assert.deepEqual(order, ['a1', 'b1', 'a2', 'b2']);
});

test('slots: promises count against the room to hold, overall too, and broken promises give it back', () => {
  const s = new Slots<string>(2, 10);
  s.take('a');
  s.take('b');
  assert.equal(s.free, 0);
  assert.equal(s.promise('c'), true); // held, overall room 2
  assert.equal(s.promise('d'), true);
  assert.equal(s.promise('e'), false);
  s.unpromise('c');
  assert.equal(s.promise('e'), true);
  assert.deepEqual(s.dropHeld(), []);
});

test('slots: at most 4 × perHost held for one host', () => {
  const s = new Slots<string>(100, 2);
  s.take('a');
  s.take('a');
  for (let i = 0; i < 8; i++) assert.equal(s.promise('a'), true);
  assert.equal(s.promise('a'), false);
  assert.equal(s.promise('b'), true); // another host starts at once
});
