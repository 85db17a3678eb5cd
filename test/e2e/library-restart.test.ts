/**
 * Library mode survives a crash: jobs queued behind a slow handler are in the SQLite file when the process is
 * killed with SIGKILL; a new process on the same file, declaring the same handler names, runs every one of
 * them (the one that was running too, as its route allows retries). A job whose handler the new process does
 * not declare fails with handler-not-registered instead of waiting forever.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { AppProcess } from '../helpers/app-process.js';
import { eventually, tempDir } from '../helpers/gateway-process.js';

const APP = join(import.meta.dirname, '..', 'fixtures', 'library-restart-app.ts');

interface Status {
  status: string;
  error?: { code: string; message: string };
}

test('queued library jobs resume after kill -9 and a restart on the same SQLite file', { timeout: 120_000 }, async () => {
  const db = `sqlite:${join(tempDir(), 'restart.db')}`;
  let app = await new AppProcess(APP, { DB: db, REGISTER_EXTRA: '1', STEP_MS: '1500' }).start();
  const monitors = new Map<number, string>();
  for (let n = 1; n <= 5; n++) {
    const res = await fetch(`${app.url}/slow`, { method: 'POST', headers: { prefer: 'respond-async' }, body: JSON.stringify({ n }) });
    assert.equal(res.status, 202);
    monitors.set(n, new URL(res.headers.get('location')!).pathname);
  }
  const extraRes = await fetch(`${app.url}/extra`, { method: 'POST', headers: { prefer: 'respond-async' } });
  assert.equal(extraRes.status, 202);
  const extraMonitor = new URL(extraRes.headers.get('location')!).pathname;
  await app.waitForLine(/^started /);
  const health = (await (await fetch(`${app.url}/_async/health`)).json()) as { running: number };
  assert.equal(health.running, 1, 'one job runs at a time: the others wait in the queue');
  await app.crash();

  app = await new AppProcess(APP, { DB: db, STEP_MS: '50' }).start();
  try {
    const status = async (path: string) => (await (await fetch(app.url + path)).json()) as Status;
    for (const [n, path] of monitors) {
      const done = await eventually(async () => {
        const s = await status(path);
        return s.status !== 'NotStarted' && s.status !== 'Running' && s;
      }, 60_000, 100);
      assert.equal(done.status, 'Succeeded', `job ${n}: ${JSON.stringify(done)}`);
      const result = (await (await fetch(`${app.url}${path}/result`)).json()) as { n: number; pid: number };
      assert.deepEqual(result, { n, pid: app.pid }, 'run by the restarted process');
    }
    const extra = await eventually(async () => {
      const s = await status(extraMonitor);
      return s.status !== 'NotStarted' && s.status !== 'Running' && s;
    }, 30_000, 100);
    assert.equal(extra.status, 'Failed');
    assert.equal(extra.error?.code, 'handler-not-registered');
    assert.match(extra.error!.message, /"extra"/);
  } finally {
    await app.crash();
  }
});
