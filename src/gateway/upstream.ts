import { Agent } from 'undici';

/** Errors that mean the request never reached the upstream: re-sending is safe whatever the method. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export function neverReachedUpstream(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return code !== undefined && NOT_SENT.has(code);
}

/**
 * One undici Agent for every upstream call: keep-alive pools per origin, bounded connections (the
 * per-upstream concurrency limit). Timeouts are ours (per route), so undici's own are switched off.
 */
export function createUpstreamAgent(connections: number): Agent {
  return new Agent({
    connections,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: { timeout: 10_000 },
  });
}

/** undici wants a flat header list; pairs keep repeats and order. */
export function flatHeaders(pairs: ReadonlyArray<readonly [string, string]>): string[] {
  const out: string[] = [];
  for (const [n, v] of pairs) out.push(n, v);
  return out;
}
