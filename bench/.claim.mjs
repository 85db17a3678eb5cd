import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteJobStore } from '../dist/store/sqlite/sqlite-store.js';
const store = new SqliteJobStore({ path: join(mkdtempSync(join(tmpdir(), 'ag-stmt-')), 'db.sqlite') });
const s = store.s, db = store.db;
const N = 3000; let n = 0;
const id = () => `${Date.now().toString(36)}${(n++).toString(36).padStart(8, '0')}`;
const fill = () => db.transaction(() => { for (let i = 0; i < N; i++) { const now = Date.now(); s.insert.run({ id: id(), dialect: 'prefer', owner: null, idempotency_key: null, request_hash: 'h', method: 'POST', url: '/work', req_headers: '[]', req_body: Buffer.from('{"n":1}'), options: '{}', retryable: 0, max_attempts: 3, now }); } })();
const variants = {
  current: s.claim,
  indexedBy: db.prepare(`UPDATE jobs SET state = 'running', lease_owner = @owner, lease_token = lease_token + 1,
        lease_expires_at = @lease, attempts = attempts + 1, updated_at = @now, version = version + 1
      WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_ready WHERE state = 'queued' AND run_at <= @now ORDER BY run_at LIMIT @limit)
      RETURNING *`),
  rowid: db.prepare(`UPDATE jobs SET state = 'running', lease_owner = @owner, lease_token = lease_token + 1,
        lease_expires_at = @lease, attempts = attempts + 1, updated_at = @now, version = version + 1
      WHERE rowid IN (SELECT rowid FROM jobs WHERE state = 'queued' AND run_at <= @now ORDER BY run_at LIMIT @limit)
      RETURNING *`),
};
for (const [name, st] of Object.entries(variants)) {
  console.log(name, db.prepare('EXPLAIN QUERY PLAN ' + st.source).all({ owner: 'w', limit: 1, now: 1, lease: 1 }).map((r) => r.detail).join(' | '));
  fill();
  const a = process.hrtime.bigint();
  db.transaction(() => { for (let i = 0; i < N; i++) { const now = Date.now(); st.all({ owner: 'w', limit: 1, now: now + 1000, lease: now + 30000 }); } })();
  console.log(name, (Number(process.hrtime.bigint() - a) / 1000 / N).toFixed(2), 'µs');
}
const sel = db.prepare(`SELECT rowid FROM jobs WHERE state = 'queued' AND run_at <= @now ORDER BY run_at LIMIT @limit`).pluck();
const upd = db.prepare(`UPDATE jobs SET state = 'running', lease_owner = @owner, lease_token = lease_token + 1,
        lease_expires_at = @lease, attempts = attempts + 1, updated_at = @now, version = version + 1 WHERE rowid = @rowid RETURNING *`);
const upd2 = db.prepare(`UPDATE jobs SET state = 'running', lease_owner = @owner, lease_token = lease_token + 1,
        lease_expires_at = @lease, attempts = attempts + 1, updated_at = @now, version = version + 1 WHERE rowid = @rowid RETURNING id`);
for (const u of [upd, upd2]) {
fill();
let ts = 0, tu = 0;
db.transaction(() => { for (let i = 0; i < N; i++) { const now = Date.now();
  let a = process.hrtime.bigint(); const r = sel.get({ now: now + 1000, limit: 1 }); ts += Number(process.hrtime.bigint() - a);
  a = process.hrtime.bigint(); u.get({ owner: 'w', now, lease: now + 30000, rowid: r }); tu += Number(process.hrtime.bigint() - a); } })();
console.log('select', (ts / 1000 / N).toFixed(2), 'update', (tu / 1000 / N).toFixed(2));
}
