import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { barLine, lineProgress } from './progress.js';

const monitor = 'http://gw/_async/jobs/x';

test('the bar shows status, percentage, current/total, message and elapsed time', () => {
  const line = barLine({ status: 'Running', percent: 40, progress: { current: 2, total: 5, message: 'step two' }, monitor }, 72_000, 0);
  assert.equal(line, `⠋ Running    [${'█'.repeat(10)}${'░'.repeat(14)}]  40%  2/5 step two  01:12`);
  assert.match(barLine({ status: 'Succeeded', percent: 100, monitor }, 0, 3), /\[█{24}\] 100%/);
});

test('without a percentage the bar sweeps, and always keeps its width', () => {
  const lines = Array.from({ length: 60 }, (_, i) => barLine({ status: 'NotStarted', monitor }, 0, i));
  assert.ok(new Set(lines.map((l) => l.indexOf('███'))).size > 10, 'the block moves');
  for (const l of lines) assert.equal(/\[([█░]+)\]/.exec(l)?.[1]?.length, 24);
});

test('plain lines for pipes', () => {
  const out = new PassThrough();
  const view = lineProgress(out);
  view.accepted(monitor);
  view.update({ status: 'Running', percent: 12.4, progress: { current: 1, total: 8 }, monitor });
  view.update({ status: 'Succeeded', monitor });
  assert.equal(String(out.read()), `asyncgate: 202 Accepted, monitor ${monitor}\nasyncgate: Running 12% 1/8\nasyncgate: Succeeded\n`);
});
