import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readEventStream, SseParser, type SseEvent } from './sse.js';

const parse = (...chunks: string[]): SseEvent[] => {
  const parser = new SseParser();
  return chunks.flatMap((c) => parser.push(c));
};

describe('SseParser', () => {
  it('reads the job event stream contract: id, event, one-line JSON data, keep-alive comments', () => {
    const events = parse(': keep-alive\n\nid: 3\nevent: status\ndata: {"status":"Running"}\n\n: keep-alive\n\nid: 4\nevent: status\ndata: {"status":"Succeeded"}\n\n');
    assert.deepEqual(events, [
      { type: 'status', data: '{"status":"Running"}', lastEventId: '3' },
      { type: 'status', data: '{"status":"Succeeded"}', lastEventId: '4' },
    ]);
  });

  it('follows the spec: multi-line data, default type, one leading space stripped, CR and CRLF line ends, BOM', () => {
    assert.deepEqual(parse('\uFEFFdata:a\r\ndata:  b\rdata\n\n'), [{ type: 'message', data: 'a\n b\n', lastEventId: '' }]);
    assert.deepEqual(parse('event: gone\ndata: {}\n\n'), [{ type: 'gone', data: '{}', lastEventId: '' }]);
  });

  it('does not dispatch an event without data, ignores unknown fields and ids with NULL, reads retry', () => {
    assert.deepEqual(parse('event: x\n\nfoo: bar\nid: a\0b\nretry: 1500\nretry: soon\ndata: d\n\n'), [
      { type: 'message', data: 'd', lastEventId: '', retry: 1500 },
    ]);
  });

  it('keeps the last event id across events, and drops an unfinished event at the end', () => {
    assert.deepEqual(parse('id: 7\ndata: a\n\ndata: b\n\ndata: never finished\n'), [
      { type: 'message', data: 'a', lastEventId: '7' },
      { type: 'message', data: 'b', lastEventId: '7' },
    ]);
  });

  it('a CRLF split across two chunks is one line end, not two', () => {
    assert.deepEqual(parse('data: a\r', '\n', 'data: b\r', '\n\r\n'), [{ type: 'message', data: 'a\nb', lastEventId: '' }]);
  });

  it('property: however the stream is cut into chunks, the events are the same', () => {
    const line = fc.oneof(
      fc.constantFrom('', ': keep-alive', 'event: status', 'event: gone', 'retry: 10'),
      fc.string({ unit: fc.constantFrom('a', ' ', ':', '{', '"', 'é', '\u2028') }).map((s) => `data:${s}`),
      fc.nat(99).map((n) => `id: ${n}`),
    );
    const eol = fc.constantFrom('\n', '\r', '\r\n');
    const stream = fc.array(fc.tuple(line, eol), { maxLength: 30 }).map((ls) => ls.map(([l, e]) => l + e).join(''));
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 6 }), (text, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let at = 0;
        for (const p of points) {
          chunks.push(text.slice(at, p));
          at = p;
        }
        chunks.push(text.slice(at));
        assert.deepEqual(parse(...chunks), parse(text));
      }),
    );
  });
});

describe('readEventStream', () => {
  it('decodes UTF-8 split across byte chunks and reports activity for every chunk', async () => {
    const bytes = Buffer.from('data: é€\n\n: keep-alive\n\n', 'utf8');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(Uint8Array.of(b));
        c.close();
      },
    });
    let activity = 0;
    const events: SseEvent[] = [];
    for await (const e of readEventStream(body, () => activity++)) events.push(e);
    assert.deepEqual(events, [{ type: 'message', data: 'é€', lastEventId: '' }]);
    assert.equal(activity, bytes.length);
  });
});
