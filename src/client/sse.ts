/**
 * A reader for `text/event-stream` (WHATWG HTML §9.2 "Server-sent events"), for the job event stream
 * (`GET {prefix}/jobs/{id}/events`). The parts of the spec's parsing rules (§9.2.6) that matter here:
 *
 *   stream     = [ bom ] *event
 *   event      = *( comment / field ) end-of-line
 *   comment    = colon *any-char end-of-line
 *   field      = 1*name-char [ colon [ space ] *any-char ] end-of-line
 *   end-of-line = ( cr lf / cr / lf )
 *
 * - "If the line is empty (a blank line): Dispatch the event". An event whose data buffer is empty is not
 *   dispatched; a trailing LF is removed from the data; the type defaults to `message`.
 * - `data` lines are joined with LF; `id` sets the last event ID unless it contains NULL; `retry` is used only
 *   when it is ASCII digits; unknown fields are ignored.
 * - "Once the end of the file is reached, any pending data must be discarded" (an unfinished event is lost).
 */

export interface SseEvent {
  /** `event:` field, `message` when absent. */
  type: string;
  data: string;
  /** The last event ID in force when this event was dispatched (`''` when none). */
  lastEventId: string;
  /** Reconnection time the server asked for in this event, if any (ms). */
  retry?: number;
}

/** Incremental parser: feed text as it arrives, get complete events back. Chunk boundaries never matter. */
export class SseParser {
  private buffer = '';
  private skipLF = false;
  private started = false;
  private data: string[] = [];
  private type = '';
  private lastEventId = '';
  private retry: number | undefined;

  /** Parse the next piece of the stream; returns the events it completed. */
  push(text: string): SseEvent[] {
    if (text.length === 0) return [];
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const out: SseEvent[] = [];
    let input = this.buffer + text;
    // A CR ending the previous piece already ended its line: an LF opening this one belongs to it.
    if (this.skipLF && input.startsWith('\n')) input = input.slice(1);
    this.skipLF = false;
    let start = 0;
    for (let i = 0; i < input.length; i++) {
      const c = input.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      this.line(input.slice(start, i), out);
      if (c === 0x0d) {
        if (i + 1 === input.length) this.skipLF = true;
        else if (input.charCodeAt(i + 1) === 0x0a) i++;
      }
      start = i + 1;
    }
    this.buffer = input.slice(start);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') return this.dispatch(out);
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.type = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
    }
  }

  private dispatch(out: SseEvent[]): void {
    const retry = this.retry;
    this.retry = undefined;
    if (this.data.length === 0) {
      this.type = '';
      return;
    }
    const event: SseEvent = { type: this.type || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId };
    if (retry !== undefined) event.retry = retry;
    out.push(event);
    this.data = [];
    this.type = '';
  }
}

/**
 * The events of a response body, as they arrive. `onActivity` is called for every chunk (comments
 * included), so a caller can tell a quiet but healthy stream (`: keep-alive`) from a dead connection.
 */
export async function* readEventStream(body: ReadableStream<Uint8Array>, onActivity?: () => void): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  const decoder = new TextDecoder('utf-8');
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onActivity?.();
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    // Stop the download when the consumer stops early (terminal event, abort).
    await reader.cancel().catch(() => undefined);
  }
}
