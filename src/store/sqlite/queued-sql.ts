/**
 * The queued jobs of the SQLite store live in two partial indexes (migration 12): jobs_ready holds the
 * ungrouped ones by run_at, jobs_group_due the grouped ones by (grp, run_at). What asks about every queued job
 * (the count, the oldest) reads both, each by its index; a leaf of SQL text for the store, the console's queries
 * and the shards' peeks.
 */

/** The distinct groups with a queued job, by key: a skip scan of jobs_group_due, one seek per group. */
export const QUEUED_GROUPS = `WITH RECURSIVE queued_groups(grp) AS (
    SELECT (SELECT grp FROM jobs INDEXED BY jobs_group_due WHERE state = 'queued' AND grp IS NOT NULL ORDER BY grp LIMIT 1)
    UNION ALL
    SELECT (SELECT j.grp FROM jobs AS j INDEXED BY jobs_group_due WHERE j.state = 'queued' AND j.grp IS NOT NULL
      AND j.grp > queued_groups.grp ORDER BY j.grp LIMIT 1)
    FROM queued_groups WHERE queued_groups.grp IS NOT NULL)`;

/** How many jobs are queued (`n`), grouped or not: two index counts. */
export const COUNT_QUEUED = `SELECT
    (SELECT count(*) FROM jobs INDEXED BY jobs_ready WHERE state = 'queued' AND grp IS NULL)
    + (SELECT count(*) FROM jobs INDEXED BY jobs_group_due WHERE state = 'queued' AND grp IS NOT NULL) AS n`;

/** When the longest-waiting queued job became due (`t`, null when none): the first entry of jobs_ready, and of
 * each group in jobs_group_due, so one seek per group however long the queues. */
export const OLDEST_QUEUED = `${QUEUED_GROUPS}
  SELECT min(t) AS t FROM (
    SELECT min(run_at) AS t FROM jobs INDEXED BY jobs_ready WHERE state = 'queued' AND grp IS NULL
    UNION ALL
    SELECT (SELECT j.run_at FROM jobs AS j INDEXED BY jobs_group_due WHERE j.state = 'queued' AND j.grp IS NOT NULL
      AND j.grp = queued_groups.grp ORDER BY j.run_at LIMIT 1)
    FROM queued_groups WHERE queued_groups.grp IS NOT NULL)`;
