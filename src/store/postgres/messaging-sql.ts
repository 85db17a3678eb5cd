/**
 * The statements of the PostgreSQL store's URL groups and schedules (the messaging migration, messaging.ts), named
 * like every other (sql.ts). Each call is one statement; IS NOT DISTINCT FROM matches the anonymous owner (null)
 * too, and a group's coalesce term finds it in its unique index.
 */
const GROUP = `coalesce(owner, '') = coalesce($1::text, '') AND owner IS NOT DISTINCT FROM $1 AND name = $2`;

// A group's endpoints (jsonb) without those a removal ($3: [{ name?, url? }]) matches, in their order.
const KEPT = `coalesce((SELECT jsonb_agg(e ORDER BY n) FROM jsonb_array_elements(endpoints::jsonb) WITH ORDINALITY AS t(e, n)
    WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements($3::jsonb) AS r WHERE r ->> 'name' = e ->> 'name' OR r ->> 'url' = e ->> 'url')),
  '[]'::jsonb)`;

export const MESSAGING_SQL = {
  // $3 has each url once already (withEndpoints); DISTINCT ON keeps the first of a url the group had before.
  addEndpoints: `INSERT INTO url_groups AS g (owner, name, endpoints, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
    ON CONFLICT ((coalesce(owner, '')), name) DO UPDATE SET updated_at = excluded.updated_at,
      endpoints = (SELECT jsonb_agg(e ORDER BY n)::text FROM (
        SELECT DISTINCT ON (e ->> 'url') e, n FROM jsonb_array_elements(g.endpoints::jsonb || excluded.endpoints::jsonb)
          WITH ORDINALITY AS t(e, n) ORDER BY e ->> 'url', n) AS d)
    RETURNING *`,
  // The group locked, then updated with what is left, or deleted once nothing is; the row returned is the group after.
  removeEndpoints: `WITH g AS (
      SELECT owner, name, created_at, updated_at, endpoints::jsonb AS was, ${KEPT} AS kept FROM url_groups WHERE ${GROUP} FOR UPDATE),
    changed AS (UPDATE url_groups u SET endpoints = g.kept::text, updated_at = $4 FROM g
      WHERE u.owner IS NOT DISTINCT FROM $1 AND u.name = $2 AND g.kept <> g.was AND jsonb_array_length(g.kept) > 0),
    emptied AS (DELETE FROM url_groups u USING g
      WHERE u.owner IS NOT DISTINCT FROM $1 AND u.name = $2 AND jsonb_array_length(g.kept) = 0)
    SELECT owner, name, kept::text AS endpoints, created_at,
      CASE WHEN kept = was THEN updated_at ELSE $4::bigint END AS updated_at FROM g`,
  urlGroup: `SELECT * FROM url_groups WHERE ${GROUP}`,
  urlGroups: `SELECT * FROM url_groups WHERE coalesce(owner, '') = coalesce($1::text, '') AND owner IS NOT DISTINCT FROM $1
    ORDER BY name`,
  deleteUrlGroup: `DELETE FROM url_groups WHERE ${GROUP} RETURNING name`,
  // Another owner's id is left alone (the DO UPDATE's WHERE: no row returned). A replaced schedule keeps its created_at.
  putSchedule: `INSERT INTO schedules AS s (id, owner, cron, destination, headers, body, paused, created_at, updated_at, next_at,
      last_at, last_message_ids) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
    ON CONFLICT (id) DO UPDATE SET cron = excluded.cron, destination = excluded.destination, headers = excluded.headers,
      body = excluded.body, paused = excluded.paused, updated_at = excluded.updated_at, next_at = excluded.next_at,
      last_at = excluded.last_at, last_message_ids = excluded.last_message_ids
    WHERE s.owner IS NOT DISTINCT FROM excluded.owner RETURNING id`,
  schedule: `SELECT * FROM schedules WHERE owner IS NOT DISTINCT FROM $1 AND id = $2`,
  schedules: `SELECT * FROM schedules WHERE owner IS NOT DISTINCT FROM $1 ORDER BY created_at, id`,
  deleteSchedule: `DELETE FROM schedules WHERE owner IS NOT DISTINCT FROM $1 AND id = $2 RETURNING id`,
  setSchedulePaused: `UPDATE schedules SET paused = $3, updated_at = $4, next_at = coalesce($5::bigint, next_at)
    WHERE owner IS NOT DISTINCT FROM $1 AND id = $2 RETURNING id`,
  dueSchedules: `SELECT * FROM schedules WHERE NOT paused AND next_at <= $1 ORDER BY next_at, id LIMIT $2`,
  // Compare-and-set on next_at: a second process firing the same time waits for the first's row lock, then
  // finds next_at moved and changes nothing.
  advanceSchedule: `UPDATE schedules SET next_at = $3, last_at = $2, last_message_ids = $4, updated_at = $5
    WHERE id = $1 AND next_at = $2 RETURNING id`,
} as const;
