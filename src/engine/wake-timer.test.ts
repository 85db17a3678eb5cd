import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WakeTimer } from './wake-timer.js';

test('wake timer: wakes at the earliest time, then at the next; a time past wakes at once', async () => {
  const wakes: number[] = [];
  const t = Date.now();
  const timer = new WakeTimer(() => wakes.push(Date.now()));
  timer.at(t + 120);
  timer.at(t + 40);
  timer.at(t + 40);
  assert.equal(timer.pending, 3);
  timer.at(t - 1);
  assert.equal(wakes.length, 1, 'a time already past: at once');
  await sleep(80);
  assert.equal(wakes.length, 2, 'the two equal times wake once');
  assert.ok(wakes[1]! >= t + 40);
  assert.equal(timer.pending, 1);
  await sleep(100);
  assert.equal(wakes.length, 3);
  assert.ok(wakes[2]! >= t + 120);
  assert.equal(timer.pending, 0);
});

test('wake timer: a time beyond the longest timer waits (no overflow to 1 ms); stop forgets every time', async () => {
  let woke = 0;
  const timer = new WakeTimer(() => woke++);
  timer.at(Date.now() + 2 ** 32);
  timer.at(Date.now() + 50);
  timer.stop();
  assert.equal(timer.pending, 0);
  timer.at(Date.now() + 2 ** 32);
  await sleep(30);
  assert.equal(woke, 0);
  assert.equal(timer.pending, 1);
  timer.stop();
  await sleep(40);
  assert.equal(woke, 0, 'stopped: the 50 ms time is gone');
});
