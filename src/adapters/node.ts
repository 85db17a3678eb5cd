import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Asyncgate } from '../library/asyncgate.js';

export * from '../library/public.js';

/**
 * A node:http request listener: asyncgate's monitor routes under the prefix, everything else to `app`.
 * Declare routes with `gate.route(name, handler, options)` and call the returned function from `app`.
 */
export function withMonitor(gate: Asyncgate, app: RequestListener): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void gate.handlePrefix(req, res).then((handled) => {
      if (!handled) app(req, res);
    });
  };
}
