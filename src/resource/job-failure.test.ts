import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCallback } from '../delivery/payload.js';
import type { Delivery, Job, JobError } from '../model.js';
import { storedJob } from '../testing/job.js';
import { jobFailure } from './job-failure.js';
import { UrlBuilder } from './urls.js';

function failedJob(error: JobError, state: Job['state'] = 'failed'): Job {
  const now = Date.now();
  return storedJob({ state, error, finishedAt: now, expiresAt: now + 60_000, version: 3 });
}

test('a failed job answers the problem of its error code, with the error as a member', () => {
  const cases: Array<[JobError['code'], string, number]> = [
    ['upstream-timeout', 'upstream-timeout', 504],
    ['upstream-unreachable', 'upstream-unreachable', 502],
    ['upstream-interrupted', 'upstream-unreachable', 502],
    ['handler-failed', 'handler-failed', 500],
    ['handler-not-registered', 'handler-failed', 500],
    ['result-too-large', 'job-failed', 409],
    ['internal', 'job-failed', 409],
  ];
  for (const [code, type, status] of cases) {
    const problem = jobFailure(failedJob({ code, message: 'm' }));
    assert.deepEqual([problem.type, problem.status], [type, status], code);
    assert.deepEqual(problem.toProblem().error, { code, message: 'm' });
  }
  const canceled = jobFailure(failedJob({ code: 'canceled', message: 'the job was canceled' }, 'canceled'), { link: '<m>; rel="monitor"' });
  assert.deepEqual([canceled.type, canceled.status, canceled.extra.headers], ['job-canceled', 409, { link: '<m>; rel="monitor"' }]);
  // A code from another version of asyncgate is still a failure (or a cancelation), never a crash.
  assert.equal(jobFailure(failedJob({ code: 'SomethingNew' as JobError['code'], message: '' })).type, 'job-failed');
  assert.equal(jobFailure(failedJob({ code: 'SomethingNew' as JobError['code'], message: '' }, 'canceled')).type, 'job-canceled');
});

test('a response-mode callback of a job without a response carries the same problem, Status line and all', () => {
  const urls = new UrlBuilder('/_async', 'https://gw.example', 'localhost').forOrigin('https://gw.example', 'job-1');
  const delivery = { mode: 'response', method: 'POST' } as Delivery;
  for (const [error, state, statusLine] of [
    [{ code: 'upstream-timeout', message: 'slow' }, 'failed', '504 Gateway Timeout'],
    [{ code: 'canceled', message: 'the job was canceled' }, 'canceled', '409 Conflict'],
  ] as const) {
    const job = failedJob(error, state);
    const callback = buildCallback(delivery, job, urls, null);
    assert.equal(callback.headers.status, statusLine);
    assert.equal(callback.headers['content-type'], 'application/problem+json');
    assert.deepEqual(JSON.parse(callback.body.toString('utf8')), jobFailure(job).toProblem());
  }
});
