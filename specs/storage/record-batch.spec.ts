// Record batches: CRC32C matches the published vectors, a batch round-trips through encode/decode for every codec,
// offset assignment leaves the CRC valid, and a damaged or oversized batch is refused with the right code.
import { createHash } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { crc32c, crc32cImplementation, crc32cPortable, nativeCrc32cImplementations } from '../../src/storage/crc32c.js';
import {
  assignOffsetAndEpoch,
  batchesIn,
  decodeRecords,
  decodeRecordsInto,
  encodeBatch,
  readBatchHeader,
  validateBatch,
  validateBatches,
  type CompressionCodec,
} from '../../src/storage/record-batch.js';
import { RaftlineError } from '../../src/wire/errors.js';

test('crc32c: matches the RFC 3720 and "123456789" check vectors', (t) => {
  t.is(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
  t.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  t.is(crc32c(ascending), 0x46dd794e);
  t.is(crc32c(new Uint8Array(0)), 0);
});

test('crc32c: the native path (where it loads) and the portable one agree on every length and offset', (t) => {
  t.log(`CRC32C of inputs past a few dozen bytes: ${crc32cImplementation}`);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 9000 }), fc.nat(), fc.nat(), (data, a, seed) => {
      const start = data.length === 0 ? 0 : a % data.length;
      t.is(crc32c(data, seed >>> 0, start), crc32cPortable(data, seed >>> 0, start));
    }),
    { numRuns: 200 },
  );
});

// Every native candidate that loads here, the fallbacks too, so a fallback that serves on another platform is no
// less checked than the one serving here. Large random inputs reach the folding paths used past a few KiB.
for (const impl of nativeCrc32cImplementations) {
  test(`crc32c: the ${impl.name} native CRC agrees with the portable one, seeded, unaligned and up to 1 MiB`, (t) => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 5000 }), fc.nat(), fc.nat(), (data, a, seed) => {
        const start = data.length === 0 ? 0 : a % data.length;
        t.is(impl.crc32c(data.subarray(start), seed >>> 0) >>> 0, crc32cPortable(data, seed >>> 0, start));
      }),
      { numRuns: 200 },
    );
    const big = new Uint8Array((1 << 20) + 61);
    let x = 0x2545f491;
    for (let i = 0; i < big.length; i++) {
      // xorshift32: random-looking bytes without a random source (specs stay reproducible).
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      big[i] = x & 0xff;
    }
    for (const [start, end] of [[0, big.length], [3, 16387], [1, 262_145], [61, (1 << 20) + 61]] as const) {
      t.is(impl.crc32c(big.subarray(start, end), 0) >>> 0, crc32cPortable(big, 0, start, end), `bytes ${start}..${end}`);
    }
  });
}

test('crc32c: the fast path agrees with chunked and unaligned computation', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), fc.nat(), (data, a, b) => {
      const whole = crc32c(data);
      const cut = data.length === 0 ? 0 : a % (data.length + 1);
      t.is(crc32c(data, crc32c(data, 0, 0, cut), cut), whole);
      // The same bytes at an odd offset of a bigger buffer take the unaligned path.
      const shift = 1 + (b % 7);
      const padded = new Uint8Array(data.length + shift);
      padded.set(data, shift);
      t.is(crc32c(padded.subarray(shift)), whole);
    }),
    { numRuns: 300 },
  );
});

const codecs: CompressionCodec[] = ['none', 'gzip', 'brotli'];

for (const compression of codecs) {
  test(`record-batch: records round-trip through encode and decode (${compression})`, (t) => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
            value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
            timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
            headers: fc.array(fc.record({ key: fc.string({ maxLength: 10 }), value: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: null }) }), { maxLength: 3 }),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (records, baseOffset) => {
          const batch = encodeBatch({ records, timestamp: 0, compression, producerId: 7, producerEpoch: 2, baseSequence: 11 });
          assignOffsetAndEpoch(batch, 0, baseOffset, 5);
          const h = validateBatch(batch);
          t.is(h.baseOffset, baseOffset);
          t.is(h.partitionLeaderEpoch, 5);
          t.is(h.recordCount, records.length);
          t.is(h.lastOffset, baseOffset + records.length - 1);
          t.is(h.compression, compression);
          t.is(h.producerId, 7);
          t.is(h.maxTimestamp, Math.max(...records.map((r) => r.timestamp)));
          const decoded = decodeRecords(batch);
          t.deepEqual(
            decoded.map((d) => ({ offset: d.offset, timestamp: d.timestamp, key: d.key && [...d.key], value: d.value && [...d.value], headers: d.headers.map((x) => ({ key: x.key, value: x.value && [...x.value] })) })),
            records.map((r, i) => ({ offset: baseOffset + i, timestamp: r.timestamp, key: r.key && [...r.key], value: r.value && [...r.value], headers: r.headers.map((x) => ({ key: x.key, value: x.value && [...x.value] })) })),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
}

test('record-batch: decoded values are slices of the batch, not copies', (t) => {
  const batch = encodeBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('value') }], timestamp: 1 });
  const [rec] = decodeRecords(batch);
  t.is(rec!.value!.buffer, batch.buffer);
});

test('record-batch: any flipped bit after the CRC field is detected', (t) => {
  const batch = encodeBatch({ records: [{ value: Buffer.alloc(100, 1) }, { value: Buffer.alloc(10, 2) }], timestamp: 5 });
  for (let i = 17; i < batch.length; i++) {
    const bad = Buffer.from(batch);
    bad[i]! ^= 0x10;
    const err = t.throws(() => validateBatch(bad), { instanceOf: RaftlineError });
    t.is(err?.code, 'CORRUPT_MESSAGE', `flip at byte ${i}`);
  }
});

test('record-batch: bad length, unsupported magic, cut-off and oversized batches are refused', (t) => {
  const batch = encodeBatch({ records: [{ value: Buffer.alloc(100) }], timestamp: 5 });
  const code = (f: () => unknown): string | undefined => (t.throws(f, { instanceOf: RaftlineError }) as RaftlineError | undefined)?.code;
  const badMagic = Buffer.from(batch);
  badMagic[16] = 1;
  t.is(code(() => validateBatch(badMagic)), 'CORRUPT_MESSAGE');
  const badLength = Buffer.from(batch);
  badLength.writeInt32BE(5, 8);
  t.is(code(() => validateBatch(badLength)), 'CORRUPT_MESSAGE');
  t.is(code(() => validateBatch(batch.subarray(0, batch.length - 1))), 'CORRUPT_MESSAGE');
  t.is(code(() => validateBatch(batch.subarray(0, 30))), 'CORRUPT_MESSAGE');
  t.is(code(() => validateBatch(batch, 0, 100)), 'MESSAGE_TOO_LARGE');
  t.is(code(() => validateBatches(new Uint8Array(0))), 'CORRUPT_MESSAGE');
});

test('record-batch: batchesIn walks concatenated batches and stops at a cut-off tail', (t) => {
  const a = encodeBatch({ records: [{ value: Buffer.from('a') }], timestamp: 1 });
  const b = encodeBatch({ records: [{ value: Buffer.from('b') }, { value: Buffer.from('c') }], timestamp: 2 });
  assignOffsetAndEpoch(b, 0, 1, 0);
  const both = Buffer.concat([a, b, b.subarray(0, 70)]);
  const seen = [...batchesIn(both)].map((x) => [x.position, x.header.baseOffset, x.header.recordCount]);
  t.deepEqual(seen, [[0, 0, 1], [a.length, 1, 2]]);
  t.is(readBatchHeader(both, a.length).lastOffset, 2);
});

test('record-batch: the encoding of a fixed batch is pinned (keys, null fields, headers, multi-byte varints)', (t) => {
  // The bytes the encoder gave before it wrote records straight into its output: an encoder rewrite must not change
  // the wire and disk format by a single byte.
  const batch = encodeBatch({
    records: [
      { key: Buffer.from('k'), value: Buffer.from('hello'), timestamp: 1000, headers: [{ key: 'h', value: Buffer.from([1, 2]) }] },
      { key: null, value: Buffer.alloc(200, 7), timestamp: 1000 + 2 ** 20 },
      { key: null, value: null, timestamp: 999 },
    ],
    timestamp: 1000,
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 9,
  });
  t.is(batch.length, 298);
  t.is(createHash('sha256').update(batch).digest('hex'), '47456bb9a8dde37d25b4f5f3b552296acfe500a62e50227307c124a35d05727a');
});

test('record-batch: a record field that runs past its own record is refused, even when the batch has bytes after it', (t) => {
  const batch = encodeBatch({ timestamp: 1_000, records: [{ key: null, value: Buffer.from('a-0') }, { key: null, value: Buffer.from('b-1') }] });
  const body = 61; // batchHeaderBytes
  // Record 0: length 9 (zigzag 0x12), attributes, timestamp delta 0, offset delta 0, key -1 (0x01), value length 3 (0x06).
  t.deepEqual([...batch.subarray(body, body + 6)], [0x12, 0, 0, 0, 0x01, 0x06]);
  const damaged = Buffer.from(batch);
  damaged[body + 5] = 0x0a; // value length 5: two bytes past the record, into record 1
  const err = t.throws(() => decodeRecords(damaged, 0, { verifyCrc: false }), { instanceOf: RaftlineError });
  t.is(err?.code, 'CORRUPT_MESSAGE');
  t.regex(err?.message ?? '', /past the batch/);
});

test('record-batch: decodeRecordsInto builds the caller\'s records directly and leaves out those the builder declines', (t) => {
  const batch = encodeBatch({ timestamp: 1_000, records: ['v0', 'v1', 'v2', 'v3'].map((v) => ({ key: Buffer.from(`k${v}`), value: Buffer.from(v), headers: [{ key: 'h', value: Buffer.from(v) }] })) });
  assignOffsetAndEpoch(batch, 0, 10, 0);
  const out: string[] = ['kept'];
  decodeRecordsInto(batch, 0, (offset, timestamp, key, value, headers) => (offset < 12 ? undefined : `${offset}@${timestamp}:${key}=${value}/${headers[0]!.key}=${headers[0]!.value}`), out);
  t.deepEqual(out, ['kept', '12@1000:kv2=v2/h=v2', '13@1000:kv3=v3/h=v3']);
  t.deepEqual(
    decodeRecords(batch).map((r) => [r.offset, r.value?.toString()]),
    [[10, 'v0'], [11, 'v1'], [12, 'v2'], [13, 'v3']],
  );
});
