// A batch whose CRC fails is refused even though its CRC is checked while its bytes are already being written
// (the append path overlaps the two): the segment file is cut back before the refusal is returned, and a crash that
// undoes that cut leaves only bytes that recovery drops. Nothing refused is ever read back.
import test from 'ava';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRealDisk } from '../../src/runtime/real/disk.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { openLog } from '../../src/storage/partition-log.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { batchHeaderBytes } from '../../src/storage/record-batch.js';
import { ManualClock, batch, newDisk, open, readAll } from './helpers.js';

const segmentPath = 'data/t-0/00000000000000000000.log';

function badCrc(tag: string, n = 1): Buffer {
  const b = batch(tag, n);
  b[b.length - 1]! ^= 0x40;
  return b;
}

test('storage: a batch refused on its CRC leaves the segment file byte for byte as it was', async (t) => {
  const disk = newDisk('crc-file');
  const log = await open(disk, new ManualClock());
  await log.appendAsLeader(batch('a', 2), 0);
  await log.appendAsLeader(batch('b', 1), 0);
  const before = Buffer.from(disk.peek(segmentPath));
  // Alone, and behind a good batch in the same request: the whole request is refused.
  for (const bad of [badCrc('x', 3), Buffer.concat([batch('fine', 1), badCrc('y', 2)])]) {
    const err = await t.throwsAsync(log.appendAsLeader(bad, 0), { instanceOf: RaftlineError });
    t.is(err?.code, 'CORRUPT_MESSAGE');
    t.deepEqual(Buffer.from(disk.peek(segmentPath)), before);
    t.is(log.logEndOffset, 3);
  }
  // A follower's append takes the same path.
  const err = await t.throwsAsync(log.appendAsFollower(Buffer.concat([batch('f', 1), badCrc('z', 1)]).fill(0, 0, 8)), {
    instanceOf: RaftlineError,
  });
  t.is(err?.code, 'INVALID_REQUEST', 'offsets below the end are refused before any byte is written');
  await log.appendAsLeader(batch('c', 1), 0);
  t.deepEqual(await readAll(log), [[0, 'a-0'], [1, 'a-1'], [2, 'b-0'], [3, 'c-0']]);
});

test('storage: a refused batch that would start a new epoch or roll the segment is refused before anything is written', async (t) => {
  const disk = newDisk('crc-roll');
  // The segment holds the first batch and little more, so the next 8-record batch rolls it.
  const log = await open(disk, new ManualClock(), { segmentBytes: batch('a', 3).length + 20 });
  await log.appendAsLeader(batch('a', 3), 0);
  const files = disk.paths();
  const before = Buffer.from(disk.peek(segmentPath));
  // A new leader epoch: its checkpoint is fsynced before the batch is written, so the CRC is checked first.
  const newEpoch = await t.throwsAsync(log.appendAsLeader(badCrc('e', 1), 1), { instanceOf: RaftlineError });
  t.is(newEpoch?.code, 'CORRUPT_MESSAGE');
  t.deepEqual(log.epochEntries, [{ epoch: 0, startOffset: 0 }]);
  // A batch that does not fit the active segment: the roll fsyncs the old one, so the CRC is checked first.
  const rolling = await t.throwsAsync(log.appendAsLeader(badCrc('r', 8), 0), { instanceOf: RaftlineError });
  t.is(rolling?.code, 'CORRUPT_MESSAGE');
  t.is(log.segmentCount, 1);
  t.deepEqual(disk.paths(), files);
  t.deepEqual(Buffer.from(disk.peek(segmentPath)), before);
  await log.appendAsLeader(batch('b', 8), 1);
  t.is(log.segmentCount, 2);
  t.deepEqual((await readAll(log)).map(([o]) => o), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test('storage: a crash that undoes the cut-back of a refused batch recovers without it', async (t) => {
  let refusedBytesSurvived = 0;
  for (let seed = 0; seed < 40; seed++) {
    const disk = newDisk(`crc-crash-${seed}`);
    disk.setCrashModel({ keep: 1, lose: 1, tear: 0, corrupt: 0 });
    const clock = new ManualClock();
    const log = await open(disk, clock);
    for (let i = 0; i < 3; i++) await log.appendAsLeader(batch(`f${i}`, 1), 0);
    await log.flush();
    await log.appendAsLeader(batch('u', 1), 0);
    const end = disk.peek(segmentPath).length;
    const bad = badCrc('refused', 2);
    const err = await t.throwsAsync(log.appendAsLeader(bad, 0), { instanceOf: RaftlineError });
    t.is(err?.code, 'CORRUPT_MESSAGE');
    t.is(disk.peek(segmentPath).length, end, `seed ${seed}: cut back before the refusal`);
    disk.crash();
    const file = disk.peek(segmentPath);
    // The refused batch as the log would have written it: offset 4 and epoch 0 stamped into its header.
    if (file.length >= end + bad.length && Buffer.from(file.subarray(end + 21, end + bad.length)).equals(bad.subarray(21))) {
      refusedBytesSurvived += 1;
    }
    const again = await open(disk, clock);
    const got = await readAll(again);
    t.true(again.logEndOffset >= 3 && again.logEndOffset <= 4, `seed ${seed}: end ${again.logEndOffset}`);
    t.deepEqual(got, [[0, 'f0-0'], [1, 'f1-0'], [2, 'f2-0'], [3, 'u-0']].slice(0, again.logEndOffset) as Array<[number, string]>);
    await again.appendAsLeader(batch('next', 1), 0);
    t.deepEqual((await readAll(again)).at(-1), [again.logEndOffset - 1, 'next-0'], `seed ${seed}: appends continue`);
  }
  t.true(refusedBytesSurvived > 0, `the crash kept the refused bytes in some runs (${refusedBytesSurvived} of 40)`);
});

// The overlap itself, observed through its order: a probe flips a CRC-covered byte of the request inside the segment
// file's write(), i.e. just after the write was issued. The append is refused only if its CRCs were checked after
// that moment; had they been checked before the write was issued, it would have been accepted.
test('storage: an append issues its segment write before checking the CRCs, for one batch and for several per request', async (t) => {
  const disk = newDisk('crc-order');
  let flipNextWrite = false;
  const openFile = disk.open.bind(disk);
  disk.open = async (path, options) => {
    const file = await openFile(path, options);
    if (!path.endsWith('.log')) return file;
    const write = file.write.bind(file);
    file.write = (data, position) => {
      if (flipNextWrite) {
        flipNextWrite = false;
        data[batchHeaderBytes]! ^= 0x01;
      }
      return write(data, position);
    };
    return file;
  };
  const log = await open(disk, new ManualClock(), { maxMessageBytes: 2 * 1024 * 1024 });
  await log.appendAsLeader(batch('first', 1), 0);
  const requests: Array<[string, Buffer]> = [
    ['one batch', batch('a', 4)],
    ['three batches', Buffer.concat([batch('b', 2), batch('c', 1), batch('d', 3)])],
    ['one 1 MiB batch', batch('e', 16, { valueBytes: 64 * 1024 })],
  ];
  for (const [name, request] of requests) {
    flipNextWrite = true;
    const err = await t.throwsAsync(log.appendAsLeader(Buffer.from(request), 0), { instanceOf: RaftlineError }, name);
    t.is(err?.code, 'CORRUPT_MESSAGE', `${name}: the CRC check saw the byte flipped after the write was issued`);
    t.false(flipNextWrite, `${name}: the probe ran`);
    t.is(log.logEndOffset, 1, `${name}: nothing appended`);
    // Unprobed, the same request is appended.
    await log.appendAsLeader(Buffer.from(request), 0);
    await log.truncateTo(1);
  }
  t.deepEqual(await readAll(log), [[0, 'first-0']]);
});

// The same probe one level down, on the real Disk port: the flip happens inside node's FileHandle.write, i.e. when the
// write is handed to the libuv pool. A refusal shows the pool already had the write while the CRCs were computed on
// the main thread, which is the overlap the append path relies on (RealFile starts a write at once on an idle file).
test.serial('storage: on the real disk, the segment write is handed to the thread pool before the CRCs are checked', async (t) => {
  const root = await fs.mkdtemp(join(tmpdir(), 'raftline-crc-order-'));
  const probe = await fs.open(join(root, 'probe'), 'w');
  const handleProto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  const write = handleProto.write;
  let flipNextWrite = false;
  handleProto.write = function (this: unknown, ...args: unknown[]) {
    const data = args[0];
    if (flipNextWrite && data instanceof Uint8Array && data.length > batchHeaderBytes) {
      flipNextWrite = false;
      data[batchHeaderBytes]! ^= 0x01;
    }
    return write.apply(this, args);
  };
  try {
    const log = await openLog({ disk: createRealDisk(root), dir: 't-0', clock: new ManualClock(), log: silentLogger, config: { maxMessageBytes: 2 * 1024 * 1024 } });
    await log.appendAsLeader(batch('first', 1), 0);
    for (const [name, request] of [
      ['one batch', batch('a', 4)],
      ['three batches', Buffer.concat([batch('b', 2), batch('c', 1), batch('d', 3)])],
      ['one 1 MiB batch', batch('e', 16, { valueBytes: 64 * 1024 })],
    ] as const) {
      flipNextWrite = true;
      const err = await t.throwsAsync(log.appendAsLeader(Buffer.from(request), 0), { instanceOf: RaftlineError }, name);
      t.is(err?.code, 'CORRUPT_MESSAGE', `${name}: the CRC check saw the byte flipped as the write went to the pool`);
      t.false(flipNextWrite, `${name}: the probe ran`);
      t.is(log.logEndOffset, 1, `${name}: nothing appended`);
      await log.appendAsLeader(Buffer.from(request), 0);
      await log.truncateTo(1);
    }
    t.deepEqual(await readAll(log), [[0, 'first-0']]);
    await log.close();
  } finally {
    handleProto.write = write;
    await fs.rm(root, { recursive: true, force: true });
  }
});
