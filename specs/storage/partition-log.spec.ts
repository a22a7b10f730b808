// The partition log's operations on a simulated disk: append as leader and follower, bounded reads, rolls, reopen,
// truncation, leader epochs, timestamps, deleteRecords, retention, compaction, refusals and disk faults.
import test from 'ava';
import { RaftlineError } from '../../src/wire/errors.js';
import { DiskFullError, DiskIoError } from '../../src/runtime/errors.js';
import { assignOffsetAndEpoch, encodeBatch, readBatchHeader } from '../../src/storage/record-batch.js';
import { ManualClock, batch, newDisk, open, readAll, values } from './helpers.js';

test('storage: a leader append assigns offsets and the epoch, and reads return the same bytes', async (t) => {
  const log = await open(newDisk(), new ManualClock());
  const a = await log.appendAsLeader(batch('a', 3), 0);
  const b = await log.appendAsLeader(batch('b', 2), 1);
  t.deepEqual([a.baseOffset, a.lastOffset, b.baseOffset, b.lastOffset, log.logEndOffset], [0, 2, 3, 4, 5]);
  const r = await log.read({ fromOffset: 0, maxBytes: 1 << 20 });
  t.deepEqual(values(r.bytes), [[0, 'a-0'], [1, 'a-1'], [2, 'a-2'], [3, 'b-0'], [4, 'b-1']]);
  t.is(r.nextOffset, 5);
  t.is(readBatchHeader(r.bytes, 0).partitionLeaderEpoch, 0);
  t.deepEqual(log.epochEntries, [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 3 }]);
  // A read from the middle of a batch returns the whole batch (the consumer skips the earlier offsets).
  const mid = await log.read({ fromOffset: 4, maxBytes: 1 << 20 });
  t.deepEqual(values(mid.bytes), [[3, 'b-0'], [4, 'b-1']]);
});

test('storage: reads are bounded by maxBytes (whole batches, at least one) and by maxOffset', async (t) => {
  const log = await open(newDisk(), new ManualClock());
  for (let i = 0; i < 10; i++) await log.appendAsLeader(batch(`x${i}`, 2), 0);
  const size = readBatchHeader((await log.read({ fromOffset: 0, maxBytes: 1 })).bytes).sizeBytes;
  const two = await log.read({ fromOffset: 0, maxBytes: size * 2 + size - 1 });
  t.is(two.batches, 2);
  t.is(two.nextOffset, 4);
  const one = await log.read({ fromOffset: 0, maxBytes: 1 });
  t.is(one.batches, 1, 'the first batch comes back even when bigger than maxBytes');
  const none = await log.read({ fromOffset: 0, maxBytes: 1, minOneBatch: false });
  t.is(none.batches, 0);
  const bounded = await log.read({ fromOffset: 2, maxBytes: 1 << 20, maxOffset: 7 });
  t.deepEqual(bounded.nextOffset, 6, 'the batch holding offsets 6-7 straddles maxOffset 7 and is left out');
  const atHw = await log.read({ fromOffset: 6, maxBytes: 1 << 20, maxOffset: 6 });
  t.is(atHw.batches, 0);
  const err = await t.throwsAsync(log.read({ fromOffset: 21, maxBytes: 100 }), { instanceOf: RaftlineError });
  t.is(err?.code, 'OFFSET_OUT_OF_RANGE');
  t.is((await log.read({ fromOffset: 20, maxBytes: 100 })).batches, 0, 'reading at the log end is empty, not an error');
});

test('storage: segments roll by segment.bytes and segment.ms, and a reopened log reads the same', async (t) => {
  const disk = newDisk();
  const clock = new ManualClock();
  const log = await open(disk, clock, { segmentBytes: 1000, segmentMs: 60_000, indexIntervalBytes: 100 });
  for (let i = 0; i < 40; i++) await log.appendAsLeader(batch(`r${i}`, 2), 0);
  const bySize = log.segmentCount;
  t.true(bySize >= 4, `rolled by size into ${bySize} segments`);
  clock.advance(60_000);
  await log.appendAsLeader(batch('late', 1), 0);
  t.is(log.segmentCount, bySize + 1, 'rolled by age');
  const before = await readAll(log);
  t.is(before.length, 81);
  await log.close();
  const names = disk.paths().filter((p) => p.endsWith('.log'));
  t.true(names.includes('data/t-0/00000000000000000000.log'));
  const again = await open(disk, clock, { segmentBytes: 1000, indexIntervalBytes: 100 });
  t.deepEqual(await readAll(again), before);
  t.is(again.logEndOffset, 81);
  for (const offset of [0, 1, 17, 40, 79, 80]) {
    const r = await again.read({ fromOffset: offset, maxBytes: 1 });
    const first = values(r.bytes)[0]!;
    t.true(first[0] <= offset && offset <= values(r.bytes).at(-1)![0], `read at ${offset} starts with its batch`);
  }
});

test('storage: truncateTo cuts at a batch boundary and forgets later epochs', async (t) => {
  const disk = newDisk();
  const log = await open(disk, new ManualClock(), { segmentBytes: 400 });
  for (let e = 0; e < 3; e++) for (let i = 0; i < 5; i++) await log.appendAsLeader(batch(`e${e}`, 2), e);
  t.is(log.logEndOffset, 30);
  t.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 20 });
  t.deepEqual(log.endOffsetForEpoch(5), { epoch: 2, endOffset: 30 });
  t.is(await log.truncateTo(15), 14, 'offset 15 is inside the batch 14-15, so that batch goes');
  t.deepEqual(log.endOffsetForEpoch(2), { epoch: 1, endOffset: 14 });
  t.deepEqual(log.epochEntries, [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 10 }]);
  await log.appendAsLeader(batch('new', 1), 3);
  t.deepEqual((await readAll(log)).slice(-2), [[13, 'e1-1'], [14, 'new-0']]);
  await log.close();
  const again = await open(disk, new ManualClock(), { segmentBytes: 400 });
  t.is(again.logEndOffset, 15);
  t.deepEqual(again.epochEntries, [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 10 }, { epoch: 3, startOffset: 14 }]);
});

test('storage: a follower keeps the leader offsets and epochs and refuses batches below its end', async (t) => {
  const leader = await open(newDisk(1), new ManualClock(), {}, 'l');
  const follower = await open(newDisk(2), new ManualClock(), {}, 'f');
  await leader.appendAsLeader(batch('a', 2), 4);
  await leader.appendAsLeader(batch('b', 3), 5);
  const fetched = await leader.read({ fromOffset: 0, maxBytes: 1 << 20 });
  await follower.appendAsFollower(Buffer.from(fetched.bytes));
  t.is(follower.logEndOffset, 5);
  t.deepEqual(follower.epochEntries, leader.epochEntries);
  t.deepEqual(values((await follower.read({ fromOffset: 0, maxBytes: 1 << 20 })).bytes), values(fetched.bytes));
  const err = await t.throwsAsync(follower.appendAsFollower(Buffer.from(fetched.bytes)), { instanceOf: RaftlineError });
  t.is(err?.code, 'INVALID_REQUEST');
  t.is(follower.logEndOffset, 5);
});

test('storage: a batch with a wrong CRC, bad length, unsupported magic or too many bytes is refused and nothing is written', async (t) => {
  const log = await open(newDisk(), new ManualClock(), { maxMessageBytes: 500 });
  await log.appendAsLeader(batch('ok', 1), 0);
  const crc = batch('x', 2);
  crc[crc.length - 1]! ^= 1;
  const magic = batch('x', 2);
  magic[16] = 3;
  const length = batch('x', 2);
  length.writeInt32BE(length.length, 8);
  const big = batch('x', 1, { valueBytes: 600 });
  const codes: string[] = [];
  for (const bad of [crc, magic, length, big, Buffer.concat([batch('fine', 1), crc])]) {
    const err = await t.throwsAsync(log.appendAsLeader(bad, 0), { instanceOf: RaftlineError });
    codes.push(err!.code);
  }
  t.deepEqual(codes, ['CORRUPT_MESSAGE', 'CORRUPT_MESSAGE', 'CORRUPT_MESSAGE', 'MESSAGE_TOO_LARGE', 'CORRUPT_MESSAGE']);
  t.is(log.logEndOffset, 1);
  t.deepEqual(await readAll(log), [[0, 'ok-0']]);
});

test('storage: a leader from an older epoch is fenced', async (t) => {
  const log = await open(newDisk(), new ManualClock());
  await log.appendAsLeader(batch('a'), 3);
  const err = await t.throwsAsync(log.appendAsLeader(batch('b'), 2), { instanceOf: RaftlineError });
  t.is(err?.code, 'FENCED_LEADER_EPOCH');
});

test('storage: offsetForTimestamp finds the first record at or after a time', async (t) => {
  const log = await open(newDisk(), new ManualClock(), { segmentBytes: 300, indexIntervalBytes: 50 });
  for (let i = 0; i < 20; i++) {
    await log.appendAsLeader(encodeBatch({ timestamp: 0, records: [{ value: Buffer.from('a'), timestamp: 1000 + i * 10 }, { value: Buffer.from('b'), timestamp: 1000 + i * 10 + 5 }] }), 0);
  }
  t.deepEqual(await log.offsetForTimestamp(0), { offset: 0, timestamp: 1000 });
  t.deepEqual(await log.offsetForTimestamp(1003), { offset: 1, timestamp: 1005 });
  t.deepEqual(await log.offsetForTimestamp(1100), { offset: 20, timestamp: 1100 });
  t.deepEqual(await log.offsetForTimestamp(1195), { offset: 39, timestamp: 1195 });
  t.is(await log.offsetForTimestamp(1196), undefined);
});

test('storage: deleteRecordsBefore moves the log start and deletes whole segments below it', async (t) => {
  const disk = newDisk();
  const log = await open(disk, new ManualClock(), { segmentBytes: 300 });
  for (let i = 0; i < 30; i++) await log.appendAsLeader(batch(`d${i}`, 1), 0);
  const segments = log.segmentCount;
  t.is(await log.deleteRecordsBefore(12), 12);
  t.true(log.segmentCount < segments);
  const err = await t.throwsAsync(log.read({ fromOffset: 11, maxBytes: 100 }), { instanceOf: RaftlineError });
  t.is(err?.code, 'OFFSET_OUT_OF_RANGE');
  t.deepEqual((await readAll(log))[0], [12, 'd12-0']);
  await log.close();
  const again = await open(disk, new ManualClock(), { segmentBytes: 300 });
  t.is(again.logStartOffset, 12);
  t.is(again.logEndOffset, 30);
});

test('storage: retention deletes segments past retention.ms or beyond retention.bytes, never the active one', async (t) => {
  const clock = new ManualClock();
  const log = await open(newDisk(), clock, { segmentBytes: 300, retentionMs: 10_000, retentionBytes: 1000 });
  for (let i = 0; i < 40; i++) await log.appendAsLeader(batch(`r${i}`, 1, { timestamp: clock.now() }), 0);
  const deletedBySize = await log.enforceRetention();
  t.true(deletedBySize > 0);
  t.true(log.sizeBytes >= 1000 - 300 && log.sizeBytes <= 1300, `size ${log.sizeBytes} near retention.bytes`);
  t.is(log.logStartOffset, (await readAll(log))[0]![0]);
  clock.advance(20_000);
  await log.enforceRetention();
  t.is(log.segmentCount, 1, 'everything old is gone but the active segment');
  t.is(log.logEndOffset, 40);
});

test('storage: compaction keeps the latest record per key and drops old tombstones, offsets unchanged', async (t) => {
  const clock = new ManualClock();
  const disk = newDisk();
  const log = await open(disk, clock, { segmentBytes: 400, cleanupPolicy: 'compact', deleteRetentionMs: 1000 });
  for (let round = 0; round < 6; round++) {
    await log.appendAsLeader(encodeBatch({ timestamp: clock.now(), records: ['a', 'b', 'c'].map((k) => ({ key: Buffer.from(k), value: Buffer.from(`${k}${round}`) })) }), 0);
  }
  await log.appendAsLeader(encodeBatch({ timestamp: clock.now(), records: [{ key: Buffer.from('b'), value: null }] }), 0);
  for (let i = 0; i < 10; i++) await log.appendAsLeader(encodeBatch({ timestamp: clock.now(), records: [{ key: Buffer.from('z'), value: Buffer.from(`z${i}`) }] }), 0);
  const before = await readAll(log);
  t.true(await log.compact() > 0);
  const after = await readAll(log);
  t.is(log.logEndOffset, 29);
  t.true(after.length < before.length);
  for (const [offset, value] of after) t.deepEqual(before.find(([o]) => o === offset), [offset, value], 'survivors keep offset and value');
  t.deepEqual(after.filter(([, v]) => v.startsWith('a')), [[15, 'a5']]);
  t.deepEqual(after.filter(([o]) => o === 18), [[18, '<null>']], 'a fresh tombstone stays');
  clock.advance(5000);
  await log.compact();
  const final = await readAll(log);
  t.deepEqual(final.filter(([o]) => o === 18), [], 'an old tombstone goes');
  await log.appendAsLeader(batch('more', 1), 0);
  await log.close();
  const again = await open(disk, clock, { segmentBytes: 400, cleanupPolicy: 'compact' });
  t.deepEqual(await readAll(again), [...final, [29, 'more-0']]);
});

test('storage: a full disk or an I/O error surfaces as a typed error and the log stays consistent and readable', async (t) => {
  const disk = newDisk(1, 2500);
  const log = await open(disk, new ManualClock());
  let accepted = 0;
  let full = 0;
  for (let i = 0; i < 40; i++) {
    try {
      await log.appendAsLeader(batch(`f${i}`, 1, { valueBytes: 100 }), 0);
      accepted += 1;
    } catch (err) {
      t.true(err instanceof DiskFullError);
      full += 1;
    }
  }
  t.true(full > 0 && accepted > 0);
  t.is(log.logEndOffset, accepted);
  t.is((await readAll(log)).length, accepted);
  disk.injectFault({ kind: 'eio', op: 'read' });
  await t.throwsAsync(log.read({ fromOffset: 0, maxBytes: 100 }), { instanceOf: DiskIoError });
  t.is((await readAll(log)).length, accepted, 'readable again once the device answers');
  disk.injectFault({ kind: 'eio', op: 'sync' });
  await t.throwsAsync(log.flush(), { instanceOf: DiskIoError });
  t.true(log.isOffline);
  const err = await t.throwsAsync(log.appendAsLeader(batch('after'), 0), { instanceOf: RaftlineError });
  t.is(err?.code, 'KAFKA_STORAGE_ERROR');
  t.is((await readAll(log)).length, accepted, 'an offline log still serves what it has');
});

test('storage: the leader rewrites only the header, so the stored batch keeps the producer CRC', async (t) => {
  const log = await open(newDisk(), new ManualClock());
  await log.appendAsLeader(batch('first', 3), 0);
  const b = batch('second', 2);
  const crcBefore = b.readUInt32BE(17);
  await log.appendAsLeader(b, 7);
  const r = await log.read({ fromOffset: 3, maxBytes: 1 << 20 });
  const h = readBatchHeader(r.bytes);
  t.is(h.crc, crcBefore);
  t.is(h.baseOffset, 3);
  const copy = Buffer.from(r.bytes);
  assignOffsetAndEpoch(copy, 0, 0, -1);
  t.deepEqual(copy.subarray(17), Buffer.from(r.bytes).subarray(17));
});

test('storage: operations issued without waiting run one at a time, in the order they were issued', async (t) => {
  const log = await open(newDisk(), new ManualClock());
  await log.appendAsLeader(batch('a', 2), 0);
  // The log is idle here, so the first append starts at once; the rest queue behind it and must see its effects.
  const first = log.appendAsLeader(batch('b', 3), 0);
  const second = log.appendAsLeader(batch('c', 1), 0);
  const cut = log.truncateTo(5); // drops c, the batch after b
  const third = log.appendAsLeader(batch('d', 2), 1);
  const read = log.read({ fromOffset: 0, maxBytes: 1 << 20 });
  const [b, c, end, d, r] = await Promise.all([first, second, cut, third, read]);
  t.deepEqual([b.baseOffset, c.baseOffset, end, d.baseOffset, d.lastOffset], [2, 5, 5, 5, 6]);
  t.deepEqual(values(r.bytes), [[0, 'a-0'], [1, 'a-1'], [2, 'b-0'], [3, 'b-1'], [4, 'b-2'], [5, 'd-0'], [6, 'd-1']]);
  t.deepEqual(log.epochEntries, [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 5 }]);
  // A refused operation does not stall the ones behind it.
  const refused = log.appendAsLeader(Buffer.from('not a batch'), 1);
  const after = log.appendAsLeader(batch('e', 1), 1);
  await t.throwsAsync(refused, { instanceOf: RaftlineError });
  t.is((await after).baseOffset, 7);
});
