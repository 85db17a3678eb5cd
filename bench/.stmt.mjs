import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteJobStore } from '../dist/store/sqlite/sqlite-store.js';
const store = new SqliteJobStore({ path: join(mkdtempSync(join(tmpdir(), 'ag-stmt-')), 'db.sqlite') });
const s = store.s, db = store.db;
const N = 5000;
let n = 0;
const id = () => `${Date.now().toString(36)}${(n++).toString(36).padStart(8, '0')}`;
const t = {}; const time = (k, f) => { const a = process.hrtime.bigint(); const r = f(); t[k] = (t[k] ?? 0) + Number(process.hrtime.bigint() - a) / 1000; return r; };
const ids = [];
db.transaction(() => {
  for (let i = 0; i < N; i++) {
    const jid = id(); ids.push(jid); const now = Date.now();
    time('insert', () => s.insert.run({ id: jid, dialect: 'prefer', owner: null, idempotency_key: null, request_hash: 'h', method: 'POST', url: '/work', req_headers: '[["content-type","application/json"],["callback","<http://127.0.0.1:1234/cb/x/1>"]]', req_body: Buffer.from('{"n":1}'), options: '{"timeoutMs":30000,"retryable":false,"maxAttempts":3,"retentionMs":3600000}', retryable: 0, max_attempts: 3, now }));
    time('insertDelivery', () => s.insertDelivery.run({ id: 'msg_' + jid, job: jid, url: 'http://127.0.0.1:1234/cb', host: '127.0.0.1:1234', method: 'POST', mode: 'response', secret: null, state: 'waiting', next: null, now }));
  }
})();
db.transaction(() => {
  for (let i = 0; i < N; i++) {
    const now = Date.now();
    const rows = time('claimJobs', () => s.due.all(now + 1000, 1).map((rowid) => s.claim.get({ rowid, owner: 'w', now, lease: now + 30000 })));
    const r = rows[0];
    time('complete', () => s.complete.get({ id: r.id, token: r.lease_token, state: 'succeeded', response: '{"status":200,"headers":[["content-type","application/json"]],"size":11,"contentType":"application/json"}', error: null, now, expires: now + 3600000 }));
    time('activate', () => s.activateDeliveries.run({ job: r.id, now }));
    time('insertChunk', () => s.insertChunk.run(r.id, r.lease_token, 0, Buffer.from('{"ok":true}')));
    time('deleteStale', () => s.deleteStaleChunks.run(r.id, r.lease_token));
    const [d] = time('claimDelivery', () => store.claimer.claim({ owner: 'w', limit: 1, now: now + 1000, leaseMs: 30000, perHost: 16, inflight: {} }));
    time('getJob', () => s.get.get(r.id));
    time('record', () => s.recordAttempt.get({ id: d.id, token: d.leaseToken, state: 'delivered', next: null, now, status: 200, error: null }));
    time('insertAttempt', () => s.insertAttempt.run({ deliveryId: d.id, n: 1, at: now, status: 200, latency: 1, error: null, snippet: null }));
  }
})();
for (const [k, v] of Object.entries(t)) console.log(k.padEnd(16), (v / N).toFixed(2), 'µs');
