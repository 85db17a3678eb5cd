import { AsyncgateError } from '../errors/asyncgate-error.js';
import { JOB_FAILURE_PROBLEMS } from '../errors/codes.js';
import type { Job } from '../model.js';

/**
 * The problem a finished job without an upstream response answers with — the same wherever it is asked: a
 * `wait=N` race that ended, `GET …/result`, a `response`-mode callback. Its `type` follows the job's error
 * code (JOB_FAILURE_PROBLEMS); the `error` member carries the code and message themselves.
 */
export function jobFailure(job: Job, headers?: Record<string, string>): AsyncgateError {
  const code = job.error?.code;
  // A code this asyncgate does not know (a row written by another version) is a failure all the same.
  const type = (code !== undefined && JOB_FAILURE_PROBLEMS[code]) || (job.state === 'canceled' ? 'job-canceled' : 'job-failed');
  return new AsyncgateError(type, job.error?.message, { members: { error: job.error }, ...(headers ? { headers } : {}) });
}
