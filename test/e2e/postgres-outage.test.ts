/**
 * A PostgreSQL outage of 30 s (longer than a failover, far longer than the store's own ~3 s of statement
 * retries, and than the 10 s lease) with jobs in flight fails nothing: attempts that finish during it keep
 * retrying their completion, jobs still queued are claimed once it is back, and every job succeeds. The
 * cluster is the test's own (initdb + pg_ctl on a free port), since stopping it is the point.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, GatewayProcess, sleep } from '../helpers/gateway-process.js';
import { PgCluster } from '../helpers/pg-cluster.js';
import { TestUpstream } from '../helpers/upstream.js';

const OUTAGE_MS = 30_000;

test('a 30 s PostgreSQL outage with jobs in flight fails no job', { timeout: 120_000 }, async (t) => {
  const cluster = await PgCluster.create();
  if (!cluster) return t.skip('cannot run a PostgreSQL cluster of its own here');
  const upstream = await new TestUpstream().start();
  let gw: GatewayProcess | undefined;
  try {
    gw = await new GatewayProcess([
      '--upstream',
      upstream.url,
      '--db',
      `${cluster.url()}?schema=outage`,
      // Fewer slots than jobs: some wait queued through the outage.
      '--concurrency',
      '8',
    ]).start();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      // Idempotent GETs: some answer before the database goes down, most while it is down.
      const ms = [300, 2_000, 6_000][i % 3];
      const res = await fetch(`${gw.url}/slow?ms=${ms}&i=${i}`, { headers: { prefer: 'respond-async' } });
      assert.equal(res.status, 202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    await eventually(async () => upstream.seen.length >= 8, 20_000);
    await cluster.stop();
    await sleep(OUTAGE_MS);
    await cluster.start();

    const states = new Map<string, { status: string; error?: unknown }>();
    await eventually(
      async () => {
        for (const id of ids) {
          if (states.has(id)) continue;
          const res = await fetch(`${gw!.url}/_async/jobs/${id}`);
          if (res.status !== 200) {
            await res.body?.cancel();
            continue; // the pool may still be reconnecting
          }
          const s = (await res.json()) as { status: string; error?: unknown };
          if (s.status === 'Succeeded' || s.status === 'Failed' || s.status === 'Canceled') states.set(id, s);
        }
        return states.size === ids.length;
      },
      45_000,
      250,
    );
    const failed = [...states].filter(([, s]) => s.status !== 'Succeeded');
    assert.deepEqual(failed, [], 'every job succeeds');
  } finally {
    await gw?.stop();
    await upstream.close();
    await cluster.destroy();
  }
});
