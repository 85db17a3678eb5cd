import type { IncomingMessage, ServerResponse } from 'node:http';

/** The async headers a browser client must be able to read. */
const EXPOSED = 'Location, Operation-Location, Retry-After, Preference-Applied, Link, ETag';

export function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
}

/** CORS when enabled: echo the origin, expose the async headers, answer preflights for any method/header. */
export function applyCors(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  if (!origin) return;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('vary', 'Origin');
  res.setHeader('access-control-expose-headers', EXPOSED);
  if (isPreflight(req)) {
    res.setHeader('access-control-allow-methods', String(req.headers['access-control-request-method']));
    const asked = req.headers['access-control-request-headers'];
    if (asked) res.setHeader('access-control-allow-headers', asked);
    res.setHeader('access-control-max-age', '600');
  }
}
