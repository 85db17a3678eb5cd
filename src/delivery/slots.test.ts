import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Slots } from './slots.js';

test('slots: a host at its bound gets no start, but up to perHost held; the overall bound caps both', () => {
  const s = new Slots<string>(4, 2);
  s.take('a');
  s.take('a');
  assert.equal(s.canStart('a'), false);
  assert.equal(s.canStart('b'), true);
  // Room to hold two for a (perHost), promised first, then held.
  assert.equal(s.promise('a'), true);
  assert.equal(s.promise('a'), true);
  assert.equal(s.promise('a'), false);
  s.unpromise('a', 2);
  s.hold('a', 'a1');
  s.hold('a', 'a2');
  assert.equal(s.promise('a'), false);
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
