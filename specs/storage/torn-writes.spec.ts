// Damage through the fault-injecting SimDisk: torn and corrupted unsynced writes, flipped bits in the tail, in the
// header fields outside the CRC, in a closed segment and in an index file. The damaged tail is truncated on recovery
// and nothing damaged is ever returned as records.
import test from 'ava';
import { RaftlineError } from '../../src/wire/errors.js';
import { decodeRecords } from '../../src/storage/record-batch.js';
import { ManualClock, batch, newDisk, open, readAll, values } from './helpers.js';

const expectedValues = (from: number, to: number): Array<[number, string]> =>
  Array.from({ length: to - from }, (_, i) => [from + i, `b${from + i}-0`]);

for (const fate of ['tear', 'corrupt', 'lose'] as const) {
  test(`storage: a ${fate === 'lose' ? 'lost' : fate === 'tear' ? 'torn' : 'corrupted'} unsynced tail is truncated on recovery and the flushed prefix survives`, async (t) => {
    let truncatedSomething = 0;
    for (let seed = 0; seed < 60; seed++) {
      const disk = newDisk(`${fate}-${seed}`);
      disk.setCrashModel({ keep: 1, lose: fate === 'lose' ? 3 : 0, tear: fate === 'tear' ? 3 : 0, corrupt: fate === 'corrupt' ? 3 : 0 });
      const clock = new ManualClock();
      const log = await open(disk, clock, { segmentBytes: 2000 });
      for (let i = 0; i < 10; i++) await log.appendAsLeader(batch(`b${i}`, 1, { valueBytes: 0 }), 0);
      await log.flush();
      for (let i = 10; i < 30; i++) await log.appendAsLeader(batch(`b${i}`, 1), 0);
      disk.crash();
      const again = await open(disk, clock, { segmentBytes: 2000 });
      const end = again.logEndOffset;
      t.true(end >= 10 && end <= 30, `seed ${seed}: end ${end}`);
      if (end < 30) truncatedSomething += 1;
      t.deepEqual(await readAll(again), expectedValues(0, end), `seed ${seed}: exactly the surviving prefix`);
      await again.appendAsLeader(batch(`b${end}`, 1), 0);
      t.deepEqual((await readAll(again)).at(-1), [end, `b${end}-0`], 'appends continue after the cut');
    }
    t.true(truncatedSomething > 20, `damage was exercised (${truncatedSomething} of 60 runs truncated)`);
  });
}

test('storage: a flipped bit in an unflushed batch cuts the log there on recovery', async (t) => {
  for (let victim = 3; victim < 8; victim++) {
    const disk = newDisk(victim);
    disk.setCrashModel({ keep: 1, lose: 0, tear: 0, corrupt: 0 });
    const clock = new ManualClock();
    const log = await open(disk, clock);
    const positions: number[] = [];
    for (let i = 0; i < 10; i++) {
      positions.push(log.sizeBytes);
      await log.appendAsLeader(batch(`b${i}`, 1), 0);
    }
    // Flip a bit inside the records of batch `victim` (covered by its CRC).
    disk.flipBit('data/t-0/00000000000000000000.log', positions[victim]! + 70);
    disk.crash();
    const again = await open(disk, clock);
    t.is(again.logEndOffset, victim);
    t.deepEqual(await readAll(again), expectedValues(0, victim));
  }
});

test('storage: a flipped bit in the base offset or leader epoch (outside the CRC) is caught on recovery', async (t) => {
  for (const [field, byte] of [['base offset', 7], ['base offset high bits', 2], ['leader epoch', 15]] as const) {
    const disk = newDisk(field);
    disk.setCrashModel({ keep: 1, lose: 0, tear: 0, corrupt: 0 });
    const clock = new ManualClock();
    const log = await open(disk, clock);
    const positions: number[] = [];
    for (let i = 0; i < 6; i++) {
      positions.push(log.sizeBytes);
      await log.appendAsLeader(batch(`b${i}`, 1), 2);
    }
    disk.flipBit('data/t-0/00000000000000000000.log', positions[4]! + byte);
    disk.crash();
    const again = await open(disk, clock);
    t.is(again.logEndOffset, 4, `${field}: cut at the damaged batch`);
    t.deepEqual(await readAll(again), expectedValues(0, 4));
  }
});

test('storage: latent corruption in a flushed segment is never returned as records', async (t) => {
  const disk = newDisk(9);
  const clock = new ManualClock();
  const config = { segmentBytes: 400, verifyCrcOnRead: true };
  const log = await open(disk, clock, config);
  for (let i = 0; i < 20; i++) await log.appendAsLeader(batch(`b${i}`, 1), 0);
  await log.flush();
  // Byte 140 lies in the records of the second batch (each batch here is 72 bytes), so only its CRC can tell.
  disk.flipBit('data/t-0/00000000000000000000.log', 140);
  // With verifyCrcOnRead the broker refuses to serve the damaged batch.
  const first = await log.read({ fromOffset: 0, maxBytes: 1 << 20 });
  t.deepEqual(values(first.bytes), [[0, 'b0-0']], 'batches before the damage are served');
  const err = await t.throwsAsync(log.read({ fromOffset: first.nextOffset, maxBytes: 1 << 20 }), { instanceOf: RaftlineError });
  t.is(err?.code, 'KAFKA_STORAGE_ERROR');
  // Without it (the default, as in Kafka) the consumer's CRC check refuses the batch instead.
  await log.close();
  const plain = await open(disk, clock, { segmentBytes: 400 });
  const raw = await plain.read({ fromOffset: 1, maxBytes: 1 << 20 });
  const decodeErr = t.throws(() => decodeRecords(raw.bytes), { instanceOf: RaftlineError });
  t.is(decodeErr?.code, 'CORRUPT_MESSAGE');
});

test('storage: a damaged index file is ignored and rebuilt from the segment', async (t) => {
  const disk = newDisk(4);
  const clock = new ManualClock();
  const config = { segmentBytes: 600, indexIntervalBytes: 100 };
  const log = await open(disk, clock, config);
  for (let i = 0; i < 30; i++) await log.appendAsLeader(batch(`b${i}`, 1), 0);
  const before = await readAll(log);
  await log.close();
  const index = disk.paths().find((p) => p.endsWith('.index'))!;
  disk.flipBit(index, 45);
  const again = await open(disk, clock, config);
  t.deepEqual(await readAll(again), before);
  for (let o = 0; o < 30; o += 7) t.is(values((await again.read({ fromOffset: o, maxBytes: 1 })).bytes)[0]![0], o);
});
