/**
 * A job's history for the console's timeline: its attempts (started, ended, how) and its last progress reports
 * (SQLite migration 9, PostgreSQL 7), kept so that a job's life gains no statement and, in the common case, no
 * JSON work:
 *
 * - The current attempt is one integer on the job's row, `attempt_started_at`, set by the claim or by the
 *   insert that starts the job at once; its number is the job's lease token (every attempt takes a new one,
 *   and nothing resets it). It ends with the job: a completion, a failed rescue or a cancel already store when
 *   (finished_at), how (state) and why (the response's status, the error's code), so they write nothing more.
 * - Only an attempt that ends without ending the job (requeued: a transient failure, a timeout with attempts
 *   left, a lease lost or handed back) is appended to `attempt_log`, a JSON array, by the requeue itself; an
 *   operator's retry appends the finished attempt the same way before the job runs again.
 * - Each progress report is appended to `progress_log` by the progress update itself.
 *
 * Both arrays are capped in SQL (ATTEMPTS_KEPT, PROGRESS_KEPT), JSONB on SQLite and jsonb on PostgreSQL (the
 * SQL: sqlite/history-sql.ts, postgres/history-sql.ts). Only the admin detail reads them (`JobStore.historyOf`).
 * Measured: a claim or completion costs the same as without (one integer column); a progress report's UPDATE
 * about 3 µs more (21 → 24 µs, the statement alone).
 */
import { ATTEMPT_OUTCOMES, type AttemptOutcome, type AttemptRecord, type JobHistory, type ProgressRecord } from '../model.js';

/** Requeued attempts kept per job (the oldest go first): more than any retry schedule makes, bounded under
 * repeated retries. The current attempt comes on top. */
export const ATTEMPTS_KEPT = 20;
/** Progress reports kept per job, the latest. */
export const PROGRESS_KEPT = 10;

/** A log column as a backend returns it: JSON text (SQLite, through json()), already parsed (PostgreSQL jsonb), or null. */
type LogColumn = string | unknown[] | null;

/** The columns `historyOf` reads. */
export interface HistoryRow {
  attempt_log: LogColumn;
  progress_log: LogColumn;
  attempt_started_at: number | null;
  lease_token: number;
  state: string;
  finished_at: number | null;
  response: string | null;
  error: string | null;
}

const list = (column: LogColumn): Array<Record<string, unknown>> =>
  column === null ? [] : ((typeof column === 'string' ? JSON.parse(column) : column) as Array<Record<string, unknown>>);

/** An entry without its null members (SQLite's json_object keeps them). */
function present<T>(entry: Record<string, unknown>): T {
  for (const k of Object.keys(entry)) if (entry[k] === null) delete entry[k];
  return entry as T;
}

const ENDING_STATES: ReadonlySet<string> = new Set<AttemptOutcome>(ATTEMPT_OUTCOMES.filter((o) => o !== 'requeued'));

/** The current attempt, from the job's row: running, or ended with the job. */
function current(r: HistoryRow): AttemptRecord | null {
  if (r.attempt_started_at === null) return null;
  const attempt: AttemptRecord = { n: r.lease_token, startedAt: r.attempt_started_at };
  if (r.finished_at === null || !ENDING_STATES.has(r.state)) return attempt;
  attempt.endedAt = r.finished_at;
  attempt.outcome = r.state as AttemptOutcome;
  const status = r.response === null ? undefined : (JSON.parse(r.response) as { status?: number }).status;
  const code = r.error === null ? undefined : (JSON.parse(r.error) as { code?: AttemptRecord['code'] }).code;
  if (status !== undefined) attempt.status = status;
  if (code !== undefined) attempt.code = code;
  return attempt;
}

export function historyFromRow(r: HistoryRow | undefined): JobHistory {
  if (!r) return { attempts: [], progress: [] };
  const attempts = list(r.attempt_log).map((a) => present<AttemptRecord>(a));
  const now = current(r);
  if (now) attempts.push(now);
  return { attempts, progress: list(r.progress_log).map((p) => present<ProgressRecord>(p)) };
}
