import type { IncomingMessage } from 'node:http';
import { requestOrigin } from '../protocol/forwarded.js';

/** The URLs of one job's resources, absolute so they stay right behind a load balancer. */
export interface JobUrls {
  self: string;
  result: string;
  cancel: string;
  callbacks: string;
  /** The job's event stream (text/event-stream). */
  events: string;
  /** The same changes over a WebSocket: `ws://` or `wss://`, as the origin is `http` or `https`. */
  websocket: string;
  /** Where the upstream reports progress (gateway mode). */
  progress: string;
}

/** The scheme the client used to reach this process: `https` on a TLS socket. */
export function requestProto(req: IncomingMessage): 'http' | 'https' {
  return (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
}

export class UrlBuilder {
  constructor(
    private readonly prefix: string,
    private readonly publicUrl: string | undefined,
    private readonly fallbackHost: string,
  ) {}

  /** Configured public base URL, else Forwarded / X-Forwarded-* / Host of the request. */
  origin(req: IncomingMessage): string {
    if (this.publicUrl) return this.publicUrl;
    return requestOrigin(req.headers, requestProto(req), this.fallbackHost);
  }

  /** An absolute URL under the prefix, e.g. `under(req, '/admin/jobs?after=…')`. */
  under(req: IncomingMessage, path: string): string {
    return `${this.origin(req)}${this.prefix}${path}`;
  }

  job(req: IncomingMessage, id: string): JobUrls {
    return this.forOrigin(this.origin(req), id);
  }

  /** A job's URLs from a stored origin: for callbacks, sent long after the request is gone. */
  forOrigin(origin: string, id: string): JobUrls {
    const self = `${this.publicUrl ?? origin}${this.prefix}/jobs/${id}`;
    return {
      self,
      result: `${self}/result`,
      cancel: `${self}/cancel`,
      callbacks: `${self}/callbacks`,
      events: `${self}/events`,
      websocket: `${self.replace(/^http/i, 'ws')}/ws`,
      progress: `${self}/progress`,
    };
  }
}
