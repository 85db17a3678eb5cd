// The command line of bench/run.mjs: its help text and the settings every section reads.
import path from 'node:path';
import { parseArgs } from 'node:util';

export const HELP = `Usage: node bench/run.mjs [options]     (or: npm run bench, which builds first)

  --duration S          seconds per measured load (default 6)
  --warmup S            seconds of un-measured load before each (default 1)
  --connections N       autocannon connections (default 50)
  --requests N          sequential pass-through requests per target (default 3000)
  --warmup-requests N   sequential warm-up requests per target (default 300)
  --max-queued N        pass --max-queued N to the gateway (default 10000000: the accept sections measure
                        accepting, and a sustained accept rate above the execution rate would otherwise
                        fill the default queue of 10000 within seconds and turn into 503s)
  --no-probe            run the gateway without bench/gateway-probe.mjs (no batch / event-loop figures)
  --cpu-prof DIR        run each gateway child under --cpu-prof, write profiles to DIR, print top functions
                        (profiling slows the gateway: use it to look, not for the headline numbers)
  --sections LIST       which sections to run (default A,A2,B,C,D,E)
  --d-jobs N            D1: jobs in the callback burst (default 3000, after 300 warm-up jobs)
  --e2e-inflight N      D2: jobs kept in flight end to end (default 50); D2 runs --warmup + --duration seconds
  --drain S             D: longest wait for outstanding callbacks after a load (default 20)
  --d-per-host LIST     D: also run asyncgate with callbacks.perHost (and callbacks.concurrency) raised to each N
                        of LIST through a --config file, as info rows (default 64; "none" for none). The
                        headline asyncgate figures always use the gateway's defaults (perHost 16, concurrency 128)
  --no-baseline         D: skip the Fastify + BullMQ baseline (needs Redis on --redis)
  --redis URL           D: the baseline's Redis (default redis://127.0.0.1:6379)
  --json FILE           also write all results as JSON
  -h, --help
`;

/** process.argv → the run's settings (numbers parsed, lists split). */
export function parseOptions(args = process.argv.slice(2)) {
  const { values: opt } = parseArgs({
    args,
    options: {
      duration: { type: 'string', default: '6' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '50' },
      requests: { type: 'string', default: '3000' },
      'warmup-requests': { type: 'string', default: '300' },
      'max-queued': { type: 'string', default: '10000000' },
      'no-probe': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      sections: { type: 'string', default: 'A,A2,B,C,D,E' },
      'd-jobs': { type: 'string', default: '3000' },
      'e2e-inflight': { type: 'string', default: '50' },
      drain: { type: 'string', default: '20' },
      'no-baseline': { type: 'boolean', default: false },
      'd-per-host': { type: 'string', default: '64' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return {
    help: opt.help,
    duration: Number(opt.duration),
    warmup: Number(opt.warmup),
    connections: Number(opt.connections),
    seqRequests: Number(opt.requests),
    seqWarmup: Number(opt['warmup-requests']),
    maxQueued: opt['max-queued'],
    probe: !opt['no-probe'],
    cpuProfDir: opt['cpu-prof'] ? path.resolve(opt['cpu-prof']) : undefined,
    sections: new Set(opt.sections.split(',').map((x) => x.trim().toUpperCase())),
    dJobs: Number(opt['d-jobs']),
    e2eInflight: Number(opt['e2e-inflight']),
    drainS: Number(opt.drain),
    dPerHost: opt['d-per-host'] === 'none' ? [] : opt['d-per-host'].split(',').map(Number).filter((n) => n > 0),
    baseline: !opt['no-baseline'],
    redis: opt.redis,
    json: opt.json,
  };
}

/** The settings as the report and the JSON file give them (the same keys as ever). */
export const reportedSettings = (s) => ({
  maxQueued: s.maxQueued,
  duration: s.duration,
  warmup: s.warmup,
  connections: s.connections,
  requests: s.seqRequests,
  warmupRequests: s.seqWarmup,
  probe: s.probe,
  cpuProf: Boolean(s.cpuProfDir),
  sections: [...s.sections],
  dJobs: s.dJobs,
  e2eInflight: s.e2eInflight,
  drainS: s.drainS,
});
