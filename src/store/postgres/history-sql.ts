/**
 * The SQL that keeps a job's history (store/history.ts, migration 7) inside the statements that already change
 * the job. Column values in a SET are the row's before the UPDATE.
 */
import { ATTEMPTS_KEPT, PROGRESS_KEPT } from '../history.js';

/** `log` (a jsonb array) with `entry` appended, the oldest dropped past `kept`. */
const append = (log: string, kept: number, entry: string) =>
  `(CASE WHEN jsonb_array_length(${log}) >= ${kept} THEN ${log} - 0 ELSE coalesce(${log}, '[]') END) || jsonb_build_array(${entry})`;

/** The current attempt (started at attempt_started_at, numbered by its lease token) moved into attempt_log,
 * ended at `endedAt` by `outcome` (SQL expressions; a null status or code is left out). */
export const logAttempt = (endedAt: string, outcome: string, status: string, code: string) => `attempt_log = CASE
    WHEN attempt_started_at IS NULL THEN attempt_log
    ELSE ${append('attempt_log', ATTEMPTS_KEPT, `jsonb_strip_nulls(jsonb_build_object('n', lease_token, 'startedAt', attempt_started_at,
      'endedAt', ${endedAt}, 'outcome', ${outcome}, 'status', ${status}, 'code', ${code}))`)} END, attempt_started_at = NULL`;

/** A finished job run again (retry): its last attempt, ended with the job, moved into the log. */
export const LOG_FINISHED_ATTEMPT = logAttempt('finished_at', 'state', `(response::jsonb ->> 'status')::int`, `error::jsonb ->> 'code'`);

/** The report `progress` (JSON text) at `now` appended to progress_log. */
export const logProgress = (progress: string, now: string) =>
  `progress_log = ${append('progress_log', PROGRESS_KEPT, `(${progress})::jsonb || jsonb_build_object('at', ${now})`)}`;
