import pg from 'pg';
import type { StoreChange } from '../port.js';

export interface ListenerOptions {
  config: pg.ClientConfig;
  channel: string;
  /** Backend pids of this process's own query connections: their notifications are already known here. */
  isOwnBackend: (pid: number) => boolean;
  onChange: (change: StoreChange) => void;
  onState?: (state: 'connected' | 'lost', error?: unknown) => void;
}

/** Parse one notification payload (see the triggers in schema.ts). */
export function parsePayload(payload: string): StoreChange | null {
  if (payload === 'w') return { kind: 'work' };
  if (payload === 'd') return { kind: 'deliveries' };
  const [tag, id, version, state] = payload.split(' ');
  if (tag === 'g' && id) return { kind: 'gone', id };
  if (tag === 'j' && id && version && state) {
    return { kind: 'job', id, version: Number(version), state: state as Extract<StoreChange, { kind: 'job' }>['state'] };
  }
  return null;
}

/**
 * One dedicated connection that LISTENs, reconnecting with backoff when it is lost. After every reconnect it
 * reports `resync`: notifications sent while it was away are gone, so listeners re-read what they watch.
 */
export class PgListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | undefined;
  private everConnected = false;

  constructor(private readonly options: ListenerOptions) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.options.config);
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      if (msg.channel !== this.options.channel || this.options.isOwnBackend(msg.processId)) return;
      const change = parsePayload(msg.payload ?? '');
      if (change) this.options.onChange(change);
    });
    this.client = client;
    await client.connect();
    await client.query(`LISTEN "${this.options.channel}"`);
    this.retryMs = 100;
    this.options.onState?.('connected');
    if (this.everConnected) this.options.onChange({ kind: 'resync' });
    this.everConnected = true;
  }

  private lost(client: pg.Client, error?: unknown): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    this.options.onState?.('lost', error);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().catch((error: unknown) => {
        const client = this.client;
        this.client = undefined;
        client?.end().catch(() => undefined);
        this.options.onState?.('lost', error);
        this.retryMs = Math.min(this.retryMs * 2, 5_000);
        this.schedule();
      });
    }, this.retryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
