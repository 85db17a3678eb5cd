/**
 * The overview's shared counts (admin-overview.ts) over a real SQLite store: settled minutes are kept and
 * not counted again, later computations read only from where the last one settled, and the bars always add
 * up to what the store holds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { newJob } from '../store/contract-fixtures.js';
import { SqliteJobStore } from '../store/sqlite/sqlite-store.js';
import { OverviewCounts } from './admin-overview.js';

const dir = mkdtempSync(join(tmpdir(), 'asyncgate-overview-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('settled minutes are kept, each computation counts only from the last settle point, totals stay exact', async () => {
  const store = new SqliteJobStore({ path: join(dir, 'overview.db') });
  try {
    const calls: Array<{ since: number; settleAt: number }> = [];
    const counts = new OverviewCounts(
      async (since, failingSince, settleAt) => {
        calls.push({ since, settleAt });
        return store.overview(since, failingSince, settleAt);
      },
      { freshMs: 2_000, settleMs: 10_000 },
    );
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000; // a minute start, half an hour ago
    const bars = async (now: number) => {
      const c = counts.at(now);
      const o = await c.overview;
      return new Map(o.perMinute.map((m) => [m.minute, [m.accepted, m.finished]]));
    };
    for (const at of [t0 + 1_000, t0 + 2_000, t0 + 70_000]) await store.insertJob(newJob({ createdAt: at }));

    // First computation: from the hour's first minute; all three are older than the settle point.
    assert.deepEqual([...(await bars(t0 + 80_000))], [[t0, [2, 0]], [t0 + 60_000, [1, 0]]]);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.settleAt, t0 + 70_000);

    // Within freshMs: the same computation is shared.
    await bars(t0 + 81_000);
    assert.equal(calls.length, 1);

    // A job created after the settle point, and one (late) before it: the next computation starts at the
    // settle point, so the late one is not counted (documented), and nothing is counted twice.
    await store.insertJob(newJob({ createdAt: t0 + 75_000 }));
    await store.insertJob(newJob({ createdAt: t0 + 60_500 }));
    assert.deepEqual([...(await bars(t0 + 90_000))], [[t0, [2, 0]], [t0 + 60_000, [2, 0]]]);
    assert.deepEqual(calls[1], { since: t0 + 70_000, settleAt: t0 + 80_000 });

    // A job newer than the settle point is counted each time, kept only once settled: exact throughout.
    await store.insertJob(newJob({ createdAt: t0 + 93_000 }));
    assert.deepEqual([...(await bars(t0 + 95_000))], [[t0, [2, 0]], [t0 + 60_000, [3, 0]]]);
    assert.deepEqual(calls[2], { since: t0 + 80_000, settleAt: t0 + 85_000 });
    assert.deepEqual([...(await bars(t0 + 100_000))], [[t0, [2, 0]], [t0 + 60_000, [3, 0]]]);
    assert.deepEqual([...(await bars(t0 + 110_000))], [[t0, [2, 0]], [t0 + 60_000, [3, 0]]]);
    assert.deepEqual(calls[4], { since: t0 + 90_000, settleAt: t0 + 100_000 });
    assert.deepEqual([...(await bars(t0 + 120_000))], [[t0, [2, 0]], [t0 + 60_000, [3, 0]]]);

    // An hour later the old minutes have left the window and are dropped.
    assert.deepEqual([...(await bars(t0 + 2 * 3600_000))], []);
  } finally {
    await store.close();
  }
});
