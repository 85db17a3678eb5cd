import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJobId, newJobId } from './ids.js';

test('job ids: 30 base64url characters, time-ordered, a sequence within the millisecond, 112 random bits after them', () => {
  const ids = Array.from({ length: 2000 }, (_, i) => newJobId(1_700_000_000_000 + i));
  for (const id of ids) assert.ok(isJobId(id), id);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids, 'later ids sort after earlier ones');
  // The random part really varies: every bit position takes both values across ids of the same millisecond.
  const SORTED = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~';
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const decode = (id: string) => Buffer.from([...id].map((c) => B64[SORTED.indexOf(c)]).join(''), 'base64url');
  assert.equal(decode(newJobId(1_700_000_000_000)).readUIntBE(0, 6), 1_700_000_000_000);
  const same = Array.from({ length: 256 }, () => decode(newJobId(42)).subarray(8));
  for (let bit = 0; bit < 112; bit++) {
    const ones = same.filter((b) => (b[bit >> 3]! >> (bit & 7)) & 1).length;
    assert.ok(ones > 0 && ones < same.length, `bit ${bit} never changes`);
  }
  // Never a leading `-` (an option on a command line), today or for the next eighty years.
  for (const id of ids) assert.match(id, /^0/);
  assert.match(newJobId(Date.UTC(2100, 0, 1)), /^0/);
  assert.ok(ids.every((id) => !id.includes('-')));
  assert.ok(isJobId('-P7CQKc-0v9-bP07DgXeLOIw9JB8ck'), 'an id made before the alphabet changed still names its job');
  assert.equal(isJobId('x'.repeat(22)), false);
  assert.equal(isJobId('../../etc/passwd'), false);
});

test('ids made in the same millisecond are strictly increasing, in the order they were made (FIFO job groups)', () => {
  const now = Date.now();
  const ids = Array.from({ length: 5000 }, () => newJobId(now));
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} then ${ids[i]}`);
  const stamped = Array.from({ length: 1000 }, () => newJobId(now + 1, 5));
  for (let i = 1; i < stamped.length; i++) assert.ok(stamped[i - 1]! < stamped[i]!);
});

test('an id stamped with a shard ends in that shard\'s character; its delivery ids in the same one', async () => {
  const { newDeliveryId } = await import('./ids.js');
  const { shardOfId } = await import('../shared/shards.js');
  for (const shard of [0, 1, 7, 63]) {
    const id = newJobId(Date.now(), shard);
    assert.ok(isJobId(id), id);
    assert.equal(shardOfId(id, 64), shard);
    assert.equal(shardOfId(newDeliveryId(id).slice('msg_'.length), 64), shard);
  }
  // Ids without a stamp end in one of the four characters that name shards 0, 16, 32 and 48.
  for (let i = 0; i < 200; i++) assert.match(newJobId().at(-1)!, /^[0GWl]$/);
});
