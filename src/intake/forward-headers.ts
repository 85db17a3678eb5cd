import type { IncomingMessage } from 'node:http';
import type { HeaderPairs } from '../model.js';
import { formatForwarded } from '../protocol/forwarded.js';
import { hopByHopNames } from '../protocol/hop-by-hop.js';
import { withoutPreferences } from '../protocol/prefer.js';

/** asyncgate's own control headers: answered here, never forwarded. */
const CONTROL = new Set(['callback', 'accept-asynchronous', 'asynchronous-end-point', 'asyncgate-not-before', 'host', 'expect']);
/** Preferences asyncgate answers itself; the rest of Prefer (e.g. return=minimal) goes to the upstream. */
const CONTROL_PREFERENCES = ['respond-async', 'wait', 'callback'];

/**
 * The headers to send upstream for a client request: hop-by-hop and control headers removed, `Pragma:
 * redirect` removed, `Forwarded` and `X-Forwarded-*` appended (RFC 7239; de-facto X- forms). Computed at
 * accept time and stored with the job, because the client is long gone when the job runs.
 */
export function forwardHeaders(req: IncomingMessage, proto: 'http' | 'https'): HeaderPairs {
  const drop = hopByHopNames(req.headers.connection);
  const out: HeaderPairs = [];
  const raw = req.rawHeaders;
  let preferDone = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (drop.has(name) || CONTROL.has(name) || name === 'forwarded' || name.startsWith('x-forwarded-')) continue;
    if (name === 'prefer') {
      if (preferDone) continue;
      preferDone = true;
      const rest = withoutPreferences(req.headers.prefer, CONTROL_PREFERENCES);
      if (rest) out.push(['prefer', rest]);
      continue;
    }
    if (name === 'pragma') {
      const rest = value.split(',').map((s) => s.trim()).filter((s) => s && s.toLowerCase() !== 'redirect').join(', ');
      if (rest) out.push(['pragma', rest]);
      continue;
    }
    out.push([name, value]);
  }
  const clientIp = req.socket.remoteAddress ?? 'unknown';
  const host = req.headers.host;
  const prior = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const fwd = formatForwarded({ for: clientIp, ...(host ? { host } : {}), proto });
  const priorForwarded = prior('forwarded');
  out.push(['forwarded', priorForwarded ? `${priorForwarded}, ${fwd}` : fwd]);
  const priorFor = prior('x-forwarded-for');
  out.push(['x-forwarded-for', priorFor ? `${priorFor}, ${clientIp}` : clientIp]);
  out.push(['x-forwarded-host', prior('x-forwarded-host') ?? host ?? '']);
  out.push(['x-forwarded-proto', prior('x-forwarded-proto') ?? proto]);
  return out;
}

/** Response headers from the upstream, minus hop-by-hop ones, as pairs. */
export function responseHeaderPairs(headers: Record<string, string | string[] | undefined>): HeaderPairs {
  const drop = hopByHopNames(headers.connection);
  const out: HeaderPairs = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || drop.has(name)) continue;
    if (Array.isArray(value)) for (const v of value) out.push([name, v]);
    else out.push([name, value]);
  }
  return out;
}
