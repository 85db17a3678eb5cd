import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handlerRequest, toReply, type Reply } from './handler.js';

async function bodyText(reply: Reply): Promise<string> {
  const chunks: Uint8Array[] = [];
  if (reply.body) for await (const c of reply.body) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

test('plain values become 200 JSON; strings text/plain; bytes octet-stream; nothing 204', async () => {
  const json = toReply({ status: 'ok', n: 1 });
  assert.equal(json.status, 200, 'a status field in data is data, not the HTTP status');
  assert.deepEqual(json.headers, [['content-type', 'application/json']]);
  assert.equal(await bodyText(json), '{"status":"ok","n":1}');
  assert.equal(json.size, 21);
  assert.equal(await bodyText(toReply(0)), '0');

  const text = toReply('héllo');
  assert.deepEqual(text.headers, [['content-type', 'text/plain; charset=utf-8']]);
  assert.equal(text.size, 6);
  assert.equal(await bodyText(text), 'héllo');

  const bytes = toReply(new Uint8Array([1, 2, 3]));
  assert.deepEqual(bytes.headers, [['content-type', 'application/octet-stream']]);
  assert.equal(bytes.size, 3);

  for (const nothing of [undefined, null]) {
    const r = toReply(nothing);
    assert.equal(r.status, 204);
    assert.equal(r.body, null);
  }
});

test('a Response keeps its status, headers (every Set-Cookie) and streamed body', async () => {
  const headers = new Headers({ 'x-report': 'r1', 'content-type': 'text/csv' });
  headers.append('set-cookie', 'a=1');
  headers.append('set-cookie', 'b=2');
  const reply = toReply(new Response('a,b\n1,2\n', { status: 201, headers }));
  assert.equal(reply.status, 201);
  assert.deepEqual(
    reply.headers.filter(([n]) => n !== 'content-type').sort(),
    [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-report', 'r1']],
  );
  assert.equal(reply.size, undefined);
  assert.equal(await bodyText(reply), 'a,b\n1,2\n');
});

test('the handler sees the stored request: headers case-insensitive, text and JSON bodies', () => {
  const req = handlerRequest('POST', '/r?x=1', [['Content-Type', 'application/json'], ['x-a', '1'], ['x-a', '2']], Buffer.from('{"k":[1]}'));
  assert.equal(req.headers.get('content-type'), 'application/json');
  assert.equal(req.headers.get('X-A'), '1, 2');
  assert.equal(req.text(), '{"k":[1]}');
  assert.deepEqual(req.json(), { k: [1] });
  const empty = handlerRequest('GET', '/', [], null);
  assert.equal(empty.text(), '');
  assert.throws(() => empty.json(), SyntaxError);
});
