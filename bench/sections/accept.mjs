// Sections A and A2: accept throughput. Durable 202s/s for POST /work + `Prefer: respond-async` through the
// gateway, against the ceiling's 202s/s (bench/servers.mjs ceiling: raw node:http, the same answers, no
// storage). A: the upstream answers at once, so the gateway also executes jobs during the load. A2: every
// job holds the upstream for 30 s (long-running work: what asyncgate is for), so it measures accepting alone.
import { setTimeout as sleep } from 'node:timers/promises';
import { withCpu } from '../lib/cpu.mjs';
import { ACCEPT_REQUEST, cannon, count, getJson, load, summary, upstreamSeen } from '../lib/load.mjs';
import { log } from '../lib/paths.mjs';
import { probe, startGateway, stopChild } from '../lib/processes.mjs';

/** A's ceiling: raw node:http 202s/s, no storage. */
export async function acceptCeiling(ctx) {
  const { ceiling, settings: s } = ctx;
  log(`A. accept throughput: ceiling (raw node:http 202, no storage), c=${s.connections}, ${s.duration} s`);
  const base = await withCpu({ ceiling }, () => load(s, { url: `${ceiling.url}/work`, ...ACCEPT_REQUEST }));
  return { ...summary(base.result, 202), cpu: base.cpu, cpuMs: base.cpuMs, cpuWallMs: base.wallMs, idlePct: base.idlePct };
}

/**
 * A: the ceiling (or opt.baseline, measured before), then a fresh gateway (opt.gatewayArgs: more `serve`
 * flags; opt.label); then the backlog is let drain (at most opt.drainMaxMs, default 30 s) before the next
 * section, and the gateway is stopped (opt.stop, default stopChild).
 */
export async function sectionAccept(ctx, opt = {}) {
  const { upstream, settings: s } = ctx;
  const baseline = opt.baseline ?? (await acceptCeiling(ctx));

  const gateway = await startGateway(s, upstream.url, ctx.dbFile, opt.label ?? 'accept', opt.gatewayArgs);
  log(`A. accept throughput: asyncgate ${gateway.url} (the upstream executes the jobs meanwhile)`);
  const seenStart = await upstreamSeen(upstream);
  let accepted = 0;
  if (s.warmup > 0) accepted += count(await cannon(s, { url: `${gateway.url}/work`, ...ACCEPT_REQUEST, duration: s.warmup }), 202);
  const seen0 = await upstreamSeen(upstream);
  await probe(gateway);
  const gw = await withCpu({ gateway, upstream }, () => cannon(s, { url: `${gateway.url}/work`, ...ACCEPT_REQUEST, duration: s.duration }));
  const probeStats = await probe(gateway);
  const seen1 = await upstreamSeen(upstream);
  const health = (await getJson(`${gateway.url}/_async/health`)).json;
  accepted += count(gw.result, 202);

  // Let the backlog drain (bounded), so that it does not disturb what follows: every accepted job has
  // reached the upstream and nothing is running.
  log(`A. waiting for the backlog to drain (${accepted - (seen1 - seenStart)} jobs not yet sent upstream)`);
  const drainStart = Date.now();
  let executed = seen1 - seenStart;
  let drained = false;
  while (Date.now() - drainStart < (opt.drainMaxMs ?? 30_000)) {
    executed = (await upstreamSeen(upstream)) - seenStart;
    const h = (await getJson(`${gateway.url}/_async/health`)).json;
    if (executed >= accepted && h.running === 0) {
      drained = true;
      break;
    }
    await sleep(100);
  }
  const drainMs = Date.now() - drainStart;
  const drainProbe = await probe(gateway);
  await (opt.stop ?? stopChild)(gateway);
  return {
    baseline,
    gateway: { ...summary(gw.result, 202), cpu: gw.cpu, cpuMs: gw.cpuMs, cpuWallMs: gw.wallMs, idlePct: gw.idlePct, trees: gw.trees, rest: gw.rest, warnings: gateway.warnings },
    executedDuringRun: seen1 - seen0,
    executedPerSec: (seen1 - seen0) / (gw.wallMs / 1000),
    healthAfterRun: health,
    drain: { ms: drainMs, drained, accepted, executed },
    probe: probeStats,
    drainProbe,
  };
}

/** A2: accept while every job holds the upstream for 30 s; reported against A's ceiling (`baseline`). */
export async function sectionAcceptLong(ctx, baseline, opt = {}) {
  const { upstream, settings: s } = ctx;
  const gateway = await startGateway(s, upstream.url, ctx.dbFile + '-long', opt.label ?? 'accept-long', opt.gatewayArgs);
  const url = `${gateway.url}/work?ms=30000`;
  log(`A2. accept throughput with 30 s jobs: asyncgate ${gateway.url}`);
  if (s.warmup > 0) await cannon(s, { url, ...ACCEPT_REQUEST, duration: s.warmup });
  await probe(gateway);
  const gw = await withCpu({ gateway, upstream }, () => cannon(s, { url, ...ACCEPT_REQUEST, duration: s.duration }));
  const probeStats = await probe(gateway);
  // The jobs would run for 30 s more: no drain; a hard stop (they are durable and would resume).
  if (opt.hardStop) await opt.hardStop(gateway); // (bench/cores.mjs: the primary and its workers)
  else {
    gateway.proc.kill('SIGKILL');
    await gateway.exitedPromise;
  }
  return {
    baseline,
    gateway: { ...summary(gw.result, 202), cpu: gw.cpu, cpuMs: gw.cpuMs, cpuWallMs: gw.wallMs, idlePct: gw.idlePct, trees: gw.trees, rest: gw.rest, warnings: gateway.warnings },
    probe: probeStats,
  };
}
