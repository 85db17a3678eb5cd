// Load helpers: autocannon for the open-loop loads, a JSON GET, and the request every accept section sends.
// Imported after bench/ dependencies are installed (lib/deps.mjs).
import autocannon from 'autocannon';
import { fetch } from 'undici';

export const ACCEPT_BODY = JSON.stringify({ order: 12345, items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }] });
export const ACCEPT_REQUEST = {
  method: 'POST',
  headers: { 'content-type': 'application/json', prefer: 'respond-async' },
  body: ACCEPT_BODY,
};

/** One autocannon load with the run's connection count (s: the settings from lib/options.mjs). */
export function cannon(s, o) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: s.connections, pipelining: 1, timeout: 10, ...o }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** A warm-up load (not measured), then the measured one. */
export async function load(s, o) {
  if (s.warmup > 0) await cannon(s, { ...o, duration: s.warmup });
  return cannon(s, { ...o, duration: s.duration });
}

export const count = (res, code) => res.statusCodeStats?.[code]?.count ?? 0;
const perSec = (n, res) => n / res.duration;

/** The figures we keep from one autocannon result. */
export function summary(res, expectStatus) {
  const expected = count(res, expectStatus);
  return {
    rps: perSec(expected, res),
    total: res.requests.total,
    expected,
    non2xx: res.non2xx,
    statusCodes: Object.fromEntries(Object.entries(res.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    errors: res.errors,
    timeouts: res.timeouts,
    latencyMs: { p50: res.latency.p50, p90: res.latency.p90, p99: res.latency.p99, max: res.latency.max },
    durationS: res.duration,
  };
}

export async function getJson(url, headers = {}) {
  const r = await fetch(url, { headers });
  const body = await r.text();
  return { status: r.status, headers: r.headers, json: body ? JSON.parse(body) : undefined };
}

/** How many requests the bench upstream (bench/servers.mjs upstream) has answered so far. */
export async function upstreamSeen(upstream) {
  return (await getJson(`${upstream.url}/__bench/stats`)).json.requests;
}
