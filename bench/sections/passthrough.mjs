// Section C: synchronous pass-through. Sequential keep-alive GET /ok through the gateway and directly to the
// upstream, interleaved (latency p50/p90/p99), then concurrent req/s with autocannon.
import { Pool } from 'undici';
import { withCpu } from '../lib/cpu.mjs';
import { load, summary } from '../lib/load.mjs';
import { log } from '../lib/paths.mjs';
import { probe, startGateway, stopChild } from '../lib/processes.mjs';
import { percentile } from '../lib/stats.mjs';

async function sequential(pool, n, errors) {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const { statusCode, body } = await pool.request({ path: '/ok', method: 'GET' });
    await body.dump();
    out[i] = Number(process.hrtime.bigint() - t0) / 1000; // µs
    if (statusCode !== 200) errors.push(statusCode);
  }
  return out;
}

export async function sectionPassThrough(ctx) {
  const { upstream, settings: s } = ctx;
  const gateway = await startGateway(s, upstream.url, ctx.dbFile, 'passthrough');
  const direct = new Pool(upstream.url, { connections: 1, pipelining: 1 });
  const via = new Pool(gateway.url, { connections: 1, pipelining: 1 });
  log(`C. pass-through latency: ${s.seqWarmup} warm-up + ${s.seqRequests} sequential GET /ok each, interleaved`);
  const errors = [];
  const d = [];
  const g = [];
  // Interleave in blocks of 100, alternating which goes first, so drift hits both alike.
  const block = 100;
  const seq = await withCpu({ gateway, upstream }, async () => {
    for (const [n, keep] of [[s.seqWarmup, false], [s.seqRequests, true]]) {
      for (let done = 0, k = 0; done < n; done += block, k++) {
        const m = Math.min(block, n - done);
        const order = k % 2 === 0 ? [[direct, d], [via, g]] : [[via, g], [direct, d]];
        for (const [pool, sink] of order) {
          const samples = await sequential(pool, m, errors);
          if (keep) sink.push(...samples);
        }
      }
    }
  });
  await Promise.all([direct.close(), via.close()]);
  const stats = (arr) => {
    const sorted = Float64Array.from(arr).sort();
    const ms = (us) => Math.round(us) / 1000;
    return { n: sorted.length, p50: ms(percentile(sorted, 0.5)), p90: ms(percentile(sorted, 0.9)), p99: ms(percentile(sorted, 0.99)), max: ms(sorted[sorted.length - 1]) };
  };
  log(`C. pass-through concurrent GET /ok: direct, then asyncgate, c=${s.connections}, ${s.duration} s each`);
  const cd = await withCpu({ upstream }, () => load(s, { url: `${upstream.url}/ok` }));
  await probe(gateway);
  const cg = await withCpu({ gateway, upstream }, () => load(s, { url: `${gateway.url}/ok` }));
  const probeConc = await probe(gateway);
  await stopChild(gateway);
  return {
    sequential: { gateway: stats(g), direct: stats(d), errors: errors.length, cpu: seq.cpu },
    concurrent: { gateway: { ...summary(cg.result, 200), cpu: cg.cpu, probe: probeConc }, direct: { ...summary(cd.result, 200), cpu: cd.cpu } },
    warnings: gateway.warnings,
  };
}
