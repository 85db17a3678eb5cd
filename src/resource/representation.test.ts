import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job, JobProgress } from '../model.js';
import { storedJob } from '../testing/job.js';
import { representation } from './representation.js';
import { UrlBuilder } from './urls.js';

const urls = new UrlBuilder('/_async', undefined, 'localhost').forOrigin('http://gw', 'job-1');

const job = (state: Job['state'], progress: JobProgress | null): Job => storedJob({ state, progress });

test('progress has one shape: percentComplete for the percentage, progress for current/total/message', () => {
  const fromPercent = representation(job('running', { percent: 40, message: 'indexing' }), urls);
  assert.equal(fromPercent.percentComplete, 40);
  assert.deepEqual(fromPercent.progress, { message: 'indexing' }, 'no progress.percent beside percentComplete');
  const onlyPercent = representation(job('running', { percent: 40 }), urls);
  assert.equal(onlyPercent.percentComplete, 40);
  assert.equal('progress' in onlyPercent, false);
  const counted = representation(job('running', { current: 2, total: 5 }), urls);
  assert.deepEqual([counted.percentComplete, counted.progress], [40, { current: 2, total: 5 }]);
});

test('a succeeded job is 100 % with no stale progress; a failed or canceled one shows where it stopped', () => {
  const done = representation(job('succeeded', { current: 4, total: 5, message: 'nearly' }), urls);
  assert.equal(done.percentComplete, 100);
  assert.equal('progress' in done, false);
  const stopped = representation(job('canceled', { current: 4, total: 5 }), urls);
  assert.deepEqual([stopped.percentComplete, stopped.progress], [80, { current: 4, total: 5 }]);
});
