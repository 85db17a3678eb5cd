import type { Dispatcher } from 'undici';
import { InterruptedStreamError } from '../engine/executor.js';

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Read at the consumer's pace (the connection is paused past HIGH_WATER unread bytes). Throws
   * InterruptedStreamError if the connection breaks mid-body. Leaving it early cuts the exchange. */
  body: AsyncIterable<Uint8Array>;
}

/** Unread bytes past which the upstream connection is paused, and below which it resumes. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

interface Controller {
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
}

/**
 * One upstream request through undici's dispatch API: the response body arrives as an async iterable fed
 * by the connection itself, not as a stream read through an async generator (with `request()` that layering
 * was a noticeable share of a job's CPU). `onInfo` sees interim responses (1xx: `102 Processing`).
 * Rejects with undici's error when no response came, or with `signal.reason` when aborted first.
 */
export function callUpstream(
  agent: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
  onInfo: (status: number, headers: Record<string, string | string[] | undefined>) => void,
): Promise<UpstreamResponse> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<UpstreamResponse>((resolve, reject) => {
    let controller: Controller | undefined;
    let body: ResponseBody | undefined;
    let finished = false;
    const onAbort = () => controller?.abort(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      finished = true;
      signal.removeEventListener('abort', onAbort);
    };
    agent.dispatch(options, {
      onRequestStart(c) {
        controller = c;
        if (signal.aborted) onAbort();
      },
      onResponseStart(c, statusCode, headers) {
        if (statusCode < 200) return onInfo(statusCode, headers);
        body = new ResponseBody(c);
        resolve({ status: statusCode, headers, body });
      },
      onResponseData(_c, chunk) {
        body?.push(chunk);
      },
      onResponseEnd() {
        finish();
        body?.end();
      },
      onResponseError(_c, error) {
        if (finished) return;
        finish();
        if (body) body.fail(error);
        else reject(signal.aborted ? signal.reason : error);
      },
    });
  });
}

/** A response body as an async iterator over the chunks undici hands over, with backpressure. */
class ResponseBody implements AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  private readonly chunks: Buffer[] = [];
  private head = 0;
  private unread = 0;
  private paused = false;
  private ended = false;
  private error: Error | undefined;
  private waiting: (() => void) | undefined;

  constructor(private readonly controller: Controller) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.unread += chunk.length;
    if (!this.paused && this.unread >= HIGH_WATER) {
      this.paused = true;
      this.controller.pause();
    }
    this.wakeReader();
  }

  end(): void {
    this.ended = true;
    this.wakeReader();
  }

  fail(error: Error): void {
    this.error = error;
    this.wakeReader();
  }

  /** Resolve the reader waiting for the next chunk, if one is. */
  private wakeReader(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      if (this.head < this.chunks.length) {
        const value = this.chunks[this.head]!;
        this.chunks[this.head++] = undefined as unknown as Buffer;
        if (this.head === this.chunks.length) {
          this.chunks.length = 0;
          this.head = 0;
        }
        this.unread -= value.length;
        if (this.paused && this.unread <= LOW_WATER) {
          this.paused = false;
          this.controller.resume();
        }
        return { value, done: false };
      }
      if (this.error) throw new InterruptedStreamError(this.error.message, { cause: this.error });
      if (this.ended) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  /** The consumer stopped early (the result is too large, or the lease was lost): stop downloading. */
  async return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.ended && !this.error) this.controller.abort(new Error('the rest of the response is not wanted'));
    this.ended = true;
    this.chunks.length = 0;
    this.head = 0;
    return { value: undefined, done: true };
  }
}
