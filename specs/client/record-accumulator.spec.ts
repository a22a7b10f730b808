// The record accumulator: batches fill up to batch.size, wait linger.ms unless full or flushed, retried batches go
// back ahead of new ones in sequence order, and buffer.memory bounds what it holds.
import test from 'ava';
import { RecordAccumulator, recordSizeEstimate, type PendingRecord } from '../../src/client/record-accumulator.js';
import { BufferExhaustedError } from '../../src/client/errors.js';
import { decodeRecords, encodeBatch } from '../../src/storage/record-batch.js';

type Numbered = PendingRecord & { id: number };

function record(bytes: number, id = 0): Numbered {
  const value = new Uint8Array(bytes).fill(id % 256);
  return { key: null, value, headers: [], timestamp: 1, sizeBytes: recordSizeEstimate(null, value, []), id };
}

const tp = { topic: 't', partition: 0 };

test('accumulator: the size estimate bounds the encoded bytes of every record', (t) => {
  for (const [k, v, h] of [[0, 0, 0], [3, 100, 0], [0, 1024, 2], [300, 70_000, 5]] as const) {
    const key = k === 0 ? null : new Uint8Array(k);
    const value = new Uint8Array(v);
    const headers = Array.from({ length: h }, (_, i) => ({ key: `h${i}`, value: new Uint8Array(i * 10) }));
    const one = encodeBatch({ records: [{ key, value, headers, timestamp: 5 }], timestamp: 5 });
    const two = encodeBatch({ records: [{ key, value, headers, timestamp: 5 }, { key, value, headers, timestamp: 9_999_999 }], timestamp: 5 });
    t.true(two.length - one.length <= recordSizeEstimate(key, value, headers), `estimate for key ${k} value ${v} headers ${h}`);
    t.is(decodeRecords(two).length, 2);
  }
});

test('accumulator: records share a batch until batch.size, then a new batch starts and the old one is full', (t) => {
  const acc = new RecordAccumulator<Numbered>({ batchSizeBytes: 1000, lingerMs: 5, bufferBytesMax: 100_000 });
  const first = acc.append(tp, record(200, 1), 0, false);
  t.true(first.appended && first.newBatchCreated && !first.batchIsFull);
  const second = acc.append(tp, record(200, 2), 0, false);
  t.true(second.appended && !second.newBatchCreated);
  // A third 200-byte record would pass 1000 bytes: with abortOnNewBatch the sticky partitioner is asked first.
  const aborted = acc.append(tp, record(500, 3), 0, true);
  t.deepEqual(aborted, { appended: false, abortForNewBatch: true });
  const third = acc.append(tp, record(500, 3), 0, false);
  t.true(third.appended && third.newBatchCreated);
  t.is(acc.batchesQueued, 2);
  // The head is full (a batch follows it): ready before linger.ms; the second waits for its linger.
  const ready = acc.ready(0, () => true);
  t.deepEqual(ready.ready, [tp]);
  const head = acc.drain(tp)!;
  t.deepEqual(head.records.map((r) => r.id), [1, 2]);
  const later = acc.ready(2, () => true);
  t.deepEqual(later.ready, []);
  t.is(later.nextCheckDelayMs, 3);
  t.deepEqual(acc.ready(5, () => true).ready, [tp]);
});

test('accumulator: a flush makes every batch due regardless of linger.ms; sendable() holds partitions back', (t) => {
  const acc = new RecordAccumulator<Numbered>({ batchSizeBytes: 16_384, lingerMs: 1_000, bufferBytesMax: 100_000 });
  acc.append(tp, record(10), 0, false);
  acc.append({ topic: 't', partition: 1 }, record(10), 0, false);
  t.deepEqual(acc.ready(0, () => true).ready, []);
  acc.beginFlush();
  t.is(acc.ready(0, () => true).ready.length, 2);
  t.deepEqual(acc.ready(0, (x) => x.partition === 1).ready, [{ topic: 't', partition: 1 }]);
  acc.endFlush();
  t.throws(() => acc.endFlush());
});

test('accumulator: a retried batch goes back ahead of new batches, in sequence order, and waits out its back-off', (t) => {
  const acc = new RecordAccumulator<Numbered>({ batchSizeBytes: 100, lingerMs: 0, bufferBytesMax: 100_000 });
  for (let i = 0; i < 4; i++) acc.append(tp, record(60, i), 0, false);
  const a = acc.drain(tp)!;
  const b = acc.drain(tp)!;
  a.attempts = 1;
  a.baseSequence = 0;
  a.retryAtMs = 50;
  b.attempts = 1;
  b.baseSequence = 1;
  b.retryAtMs = 50;
  t.true(a.closedForAppends, 'a sent batch keeps its bytes: no appends');
  acc.reenqueue(b);
  acc.reenqueue(a);
  const ready = acc.ready(10, () => true);
  t.deepEqual(ready.ready, []);
  t.is(ready.nextCheckDelayMs, 40);
  t.deepEqual(acc.ready(50, () => true).ready, [tp]);
  t.is(acc.drain(tp), a);
  t.is(acc.drain(tp), b);
  t.is(acc.drain(tp)!.records[0]!.id, 2);
});

test('accumulator: buffer.memory bounds unacknowledged bytes; release gives them back', (t) => {
  const acc = new RecordAccumulator<Numbered>({ batchSizeBytes: 1_000, lingerMs: 0, bufferBytesMax: 2_000 });
  const batches = [];
  let appended = 0;
  try {
    for (;;) {
      const r = acc.append({ topic: 't', partition: appended % 3 }, record(500, appended), 0, false);
      if (r.appended && r.newBatchCreated) batches.push(r.batch);
      appended++;
    }
  } catch (err) {
    t.true(err instanceof BufferExhaustedError);
  }
  t.true(appended >= 2 && acc.bytesBuffered <= 2_000);
  for (const b of acc.drainAll()) acc.release(b);
  t.is(acc.bytesBuffered, 0);
  t.true(acc.append(tp, record(500), 0, false).appended);
});

test('accumulator: batches queued past delivery.timeout.ms expire; younger ones stay', (t) => {
  const acc = new RecordAccumulator<Numbered>({ batchSizeBytes: 100, lingerMs: 10, bufferBytesMax: 100_000 });
  acc.append(tp, record(60, 1), 0, false);
  acc.append(tp, record(60, 2), 500, false);
  const expired = acc.expire(1_000, 1_000);
  t.deepEqual(expired.map((b) => b.records[0]!.id), [1]);
  t.is(acc.batchesQueued, 1);
});

test('accumulator: appendToOpenBatch fills the open batch until it is full, and never a batch that was drained', (t) => {
  const acc = new RecordAccumulator<Numbered>({ batchSizeBytes: 1000, lingerMs: 5, bufferBytesMax: 100_000 });
  t.is(acc.appendToOpenBatch('t', 0, record(200, 1)), 'none', 'no batch yet: the caller must create one');
  t.true(acc.append(tp, record(200, 1), 0, false).appended);
  t.is(acc.appendToOpenBatch('t', 0, record(200, 2)), 'open');
  t.is(acc.appendToOpenBatch('t', 1, record(200, 3)), 'none', 'another partition has no batch');
  t.is(acc.appendToOpenBatch('t', 0, record(200, 4)), 'open');
  t.is(acc.appendToOpenBatch('t', 0, record(700, 5)), 'none', 'no room left for 700 bytes');
  const drained = acc.drain(tp)!;
  t.deepEqual(drained.records.map((r) => r.id), [1, 2, 4]);
  // The drained batch is not sent yet, but it has left the accumulator: nothing may join it any more.
  t.is(acc.appendToOpenBatch('t', 0, record(10, 6)), 'none');
  t.is(drained.recordCount, 3);
  // 61 bytes of batch header + (36 + 850) + (36 + 17) = 1000 bytes: the second record just fits and fills the batch.
  t.true(acc.append(tp, record(850, 7), 1, false).appended);
  t.is(acc.appendToOpenBatch('t', 0, record(17, 8)), 'full', 'the record fits, and then the batch is full');
  acc.release(drained);
  t.is(acc.bytesBuffered, acc.drain(tp)!.sizeBytes);
});
