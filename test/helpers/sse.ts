/** One thing read from a text/event-stream: an event (id/event/data) or a comment line. */
export type SseItem = { kind: 'event'; id?: string; event: string; data: string } | { kind: 'comment'; text: string };

/**
 * A minimal text/event-stream reader over fetch, for tests: it keeps comments (heartbeats) as items, which
 * EventSource would hide, and says when the server ended the stream.
 */
export class SseReader {
  private buffer = '';
  private readonly items: SseItem[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly abort = new AbortController();
  status = 0;
  headers = new Headers();

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const r = new SseReader();
    const res = await fetch(url, { headers, signal: r.abort.signal });
    r.status = res.status;
    r.headers = res.headers;
    if (res.body) void r.pump(res.body);
    else r.ended = true;
    return r;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        this.buffer += decoder.decode(chunk, { stream: true });
        this.parse();
      }
    } catch {
      // aborted by close()
    }
    this.ended = true;
    this.wake?.();
  }

  private parse(): void {
    for (let end = this.buffer.indexOf('\n\n'); end !== -1; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.items.push({ kind: 'comment', text: line.slice(1).trim() });
          continue;
        }
        const colon = line.indexOf(':');
        const name = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        fields[name] = name === 'data' && fields.data !== undefined ? `${fields.data}\n${value}` : value;
      }
      if (fields.data !== undefined) {
        this.items.push({ kind: 'event', ...(fields.id !== undefined ? { id: fields.id } : {}), event: fields.event ?? 'message', data: fields.data });
      }
    }
    this.wake?.();
  }

  /** The next item, or 'end' once the server closed the stream; rejects after `timeoutMs`. */
  async next(timeoutMs = 15_000): Promise<SseItem | 'end'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = this.items.shift();
      if (item) return item;
      if (this.ended) return 'end';
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no event-stream item in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** The next event, skipping heartbeat comments. */
  async nextEvent(timeoutMs = 15_000): Promise<Extract<SseItem, { kind: 'event' }> | 'end'> {
    for (;;) {
      const item = await this.next(timeoutMs);
      if (item === 'end' || item.kind === 'event') return item;
    }
  }

  close(): void {
    this.abort.abort();
  }
}
