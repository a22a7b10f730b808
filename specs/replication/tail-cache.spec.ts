// The leader's tail cache (src/replication/tail-cache.ts) on its own: what it answers must be exactly what the log
// would answer, and what it cannot answer it declines; its memory stays within both bounds.
import test from 'ava';
import { createTailCacheBudget, TailCache } from '../../src/replication/tail-cache.js';
import { encodeBatch, readBatchHeader } from '../../src/storage/record-batch.js';

/** One batch of `count` records of `valueBytes` each, at `baseOffset`, as the log would have stamped it. */
function batch(baseOffset: number, count = 1, valueBytes = 100): Buffer {
  const records = Array.from({ length: count }, () => ({ value: Buffer.alloc(valueBytes, 0x61), timestamp: 1 }));
  return encodeBatch({ records, timestamp: 1, baseOffset });
}

/** The offsets of the batches in `bytes`. */
function offsets(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let p = 0; p < bytes.length; ) {
    const h = readBatchHeader(bytes, p);
    out.push(h.baseOffset);
    p += h.sizeBytes;
  }
  return out;
}

const log = (logEndOffset: number, logStartOffset = 0) => ({ logStartOffset, logEndOffset });

test('tail cache: a fetch at the tail gets the appended batches byte for byte, whole batches below the limit only', (t) => {
  const cache = new TailCache(createTailCacheBudget(1 << 20), 1 << 20);
  const a = batch(10, 2);
  const b = batch(12, 3);
  cache.add(a, 12);
  cache.add(b, 15);
  t.deepEqual(cache.range, { first: 10, last: 14 });
  t.deepEqual(Buffer.from(cache.read(10, 1 << 20, 15, true, log(15))!), Buffer.concat([a, b]));
  t.deepEqual(offsets(cache.read(11, 1 << 20, 15, true, log(15))!), [10, 12], 'from the batch holding the offset, as the log reads');
  t.deepEqual(offsets(cache.read(12, 1 << 20, 15, true, log(15))!), [12]);
  t.deepEqual(offsets(cache.read(10, 1 << 20, 14, true, log(15))!), [10], 'a batch reaching the limit (the high watermark) is held back');
  t.is(cache.read(12, 1 << 20, 12, true, log(15))!.length, 0, 'nothing below the limit: empty');
  t.is(cache.read(15, 1 << 20, 15, true, log(15))!.length, 0, 'at the log end: empty');
});

test('tail cache: maxBytes bounds the answer, and minOneBatch still gives the first batch whole', (t) => {
  const cache = new TailCache(createTailCacheBudget(1 << 20), 1 << 20);
  const a = batch(0, 1, 500);
  cache.add(a, 1);
  cache.add(batch(1, 1, 500), 2);
  t.deepEqual(offsets(cache.read(0, a.length, 2, true, log(2))!), [0]);
  t.deepEqual(offsets(cache.read(0, 10, 2, true, log(2))!), [0], 'minOneBatch: the first batch even over maxBytes');
  t.is(cache.read(0, 10, 2, false, log(2))!.length, 0, 'without minOneBatch nothing fits');
});

test('tail cache: it declines what it does not hold or what the log has moved past, so the log answers instead', (t) => {
  const cache = new TailCache(createTailCacheBudget(1 << 20), 1 << 20);
  t.is(cache.read(0, 1000, 10, true, log(10)), undefined, 'empty');
  cache.add(batch(5, 2), 7);
  t.is(cache.read(4, 1000, 7, true, log(7)), undefined, 'below the first cached offset');
  t.is(cache.read(8, 1000, 7, true, log(7)), undefined, 'past the log end: the log raises OFFSET_OUT_OF_RANGE');
  t.is(cache.read(5, 1000, 7, true, log(7, 6)), undefined, 'below the log start offset (retention moved it)');
  t.is(cache.read(5, 1000, 9, true, log(9)), undefined, 'the log grew without the cache: it forgets everything');
  t.is(cache.range, undefined);
});

test('tail cache: batches that do not continue the cached ones, or a log end that does not match, start it afresh', (t) => {
  const cache = new TailCache(createTailCacheBudget(1 << 20), 1 << 20);
  cache.add(batch(0), 1);
  cache.add(batch(5), 6);
  t.deepEqual(cache.range, { first: 5, last: 5 });
  cache.add(batch(6), 9);
  t.is(cache.range, undefined, 'a log end beyond the newest batch');
  t.is(cache.bytes, 0);
});

test('tail cache: bytes stay within the partition bound and the broker budget, dropping the oldest first', (t) => {
  const one = batch(0, 1, 1000).length;
  const budget = createTailCacheBudget(5 * one);
  const a = new TailCache(budget, 3 * one);
  const b = new TailCache(budget, 3 * one);
  for (let i = 0; i < 10; i++) a.add(batch(i, 1, 1000), i + 1);
  t.is(a.bytes, 3 * one);
  t.deepEqual(a.range, { first: 7, last: 9 });
  for (let i = 0; i < 3; i++) b.add(batch(i, 1, 1000), i + 1);
  t.true(budget.usedBytes <= budget.maxBytes, 'the broker budget holds');
  t.deepEqual(b.range, { first: 1, last: 2 }, 'over the budget: the newcomer drops its own oldest');
  a.clear();
  b.clear();
  t.is(budget.usedBytes, 0, 'clearing gives every byte back');
});

test('tail cache: a small view of a large frame is copied, so the cache does not pin the frame', (t) => {
  const cache = new TailCache(createTailCacheBudget(1 << 20), 1 << 20);
  const b = batch(0);
  const frame = Buffer.alloc(b.length * 10);
  b.copy(frame, 100);
  const view = frame.subarray(100, 100 + b.length);
  cache.add(view, 1);
  const got = cache.read(0, 1 << 20, 1, true, log(1))!;
  t.deepEqual(Buffer.from(got), b);
  t.not(got.buffer, frame.buffer);
});

test('tail cache: a fair share of a frame is held as a view (no copy) and charged the part of the frame it pins', (t) => {
  const cache = new TailCache(createTailCacheBudget(1 << 20), 1 << 20);
  const b = batch(0, 1, 1000);
  // A produce frame carrying two partitions' batches: each is about half of it.
  const frame = Buffer.alloc(b.length * 2 + 64);
  b.copy(frame, 32);
  const view = frame.subarray(32, 32 + b.length);
  cache.add(view, 1);
  const got = cache.read(0, 1 << 20, 1, true, log(1))!;
  t.deepEqual(Buffer.from(got), b);
  t.is(got.buffer, frame.buffer, 'served from the frame itself');
  t.is(cache.bytes, frame.length, 'charged for the whole frame it keeps alive, not just its own bytes');
});

test('tail cache: the bounds count pinned frames, so views of large frames cannot hold more memory than the bounds', (t) => {
  const one = batch(0, 1, 1000).length;
  const frameBytes = 3 * one; // each view pins three times its size: under the pin factor, so held as views
  const budget = createTailCacheBudget(1 << 20);
  const cache = new TailCache(budget, 2 * frameBytes);
  const frames: Buffer[] = [];
  for (let i = 0; i < 5; i++) {
    const frame = Buffer.alloc(frameBytes);
    batch(i, 1, 1000).copy(frame, 0);
    frames.push(frame);
    cache.add(frame.subarray(0, one), i + 1);
  }
  t.is(cache.bytes, 2 * frameBytes, 'two pinned frames fill the partition bound');
  t.deepEqual(cache.range, { first: 3, last: 4 });
  t.is(budget.usedBytes, 2 * frameBytes);
  cache.clear();
  t.is(budget.usedBytes, 0);
});
