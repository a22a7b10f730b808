// Block reservation past the active segment's data (preallocate.bytes) on the real disk: a segment that has grown to
// a chunk keeps about a chunk of blocks allocated past its end, its size on disk and its bytes stay exactly the log's,
// a roll and a clean close give the blocks back, and the log reads back the same after a reopen. Below a chunk, and
// with preallocate.bytes=0, nothing is reserved. Runs where fallocate can be called (Linux with koffi loaded).
import test from 'ava';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRealDisk } from '../../src/runtime/real/disk.js';
import { fallocateAvailable } from '../../src/runtime/real/fallocate.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { openLog, type PartitionLog } from '../../src/storage/partition-log.js';
import { ManualClock, batch, readAll } from './helpers.js';

const reserving = fallocateAvailable ? test : test.skip;
const KiB = 1024;
const chunk = 256 * KiB;
/** One batch of 15 records of 4 KiB: about 60 KiB. */
const big = (): Buffer => batch('p', 15, { valueBytes: 4 * KiB });

async function setup(t: { teardown(fn: () => Promise<void>): void }, preallocateBytes: number) {
  const root = await fs.mkdtemp(join(tmpdir(), 'raftline-prealloc-'));
  t.teardown(() => fs.rm(root, { recursive: true, force: true }));
  const config = { preallocateBytes, segmentBytes: 1024 * KiB };
  const openIt = (): Promise<PartitionLog> => openLog({ disk: createRealDisk(root), dir: 't-0', clock: new ManualClock(), log: silentLogger, config });
  const segmentFile = (base: number): string => join(root, 't-0', `${String(base).padStart(20, '0')}.log`);
  const onDisk = async (base: number): Promise<{ size: number; allocated: number }> => {
    const st = await fs.stat(segmentFile(base));
    return { size: st.size, allocated: st.blocks * 512 };
  };
  return { openIt, onDisk };
}

/** Waits (bounded) for the background reservation to show in the segment's allocated blocks. */
async function allocatedAtLeast(onDisk: () => Promise<{ allocated: number }>, bytes: number): Promise<number> {
  const deadline = Date.now() + 2_000;
  let allocated = (await onDisk()).allocated;
  while (allocated < bytes && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    allocated = (await onDisk()).allocated;
  }
  return allocated;
}

reserving('storage: a busy active segment keeps blocks reserved past its data; a roll and a close give them back, and the bytes never change', async (t) => {
  const { openIt, onDisk } = await setup(t, chunk);
  let log = await openIt();
  const appended: number[] = [];
  // Under one chunk of data: nothing reserved.
  await log.appendAsLeader(big(), 0);
  const first = await onDisk(0);
  t.true(first.allocated < first.size + 64 * KiB, `small segment: ${first.allocated} allocated for ${first.size}`);
  while (log.segmentCount === 1 && (await onDisk(0)).size < chunk + 64 * KiB) appended.push((await log.appendAsLeader(big(), 0)).baseOffset);
  const grown = await onDisk(0);
  const allocated = await allocatedAtLeast(() => onDisk(0), grown.size + chunk / 2);
  t.true(allocated >= grown.size + chunk / 2, `${allocated} bytes allocated for ${grown.size} of data`);
  t.is(grown.size, (await onDisk(0)).size, 'the size on disk is the data, not the reservation');
  // A clean close gives the reservation back.
  await log.close();
  const closed = await onDisk(0);
  t.is(closed.size, grown.size);
  t.true(closed.allocated < closed.size + 16 * KiB, `closed: ${closed.allocated} allocated for ${closed.size}`);
  log = await openIt();
  // Fill the segment until it rolls: the rolled segment holds only its data's blocks again.
  while (log.segmentCount === 1) appended.push((await log.appendAsLeader(big(), 0)).baseOffset);
  const rolled = await onDisk(0);
  t.true(rolled.allocated < rolled.size + 16 * KiB, `rolled segment: ${rolled.allocated} allocated for ${rolled.size}`);
  const end = log.logEndOffset;
  await log.close();
  log = await openIt();
  t.is(log.logEndOffset, end, 'everything appended is read back after a reopen');
  const records = await readAll(log, 1024 * KiB);
  t.is(records.length, end, 'every record, CRCs checked');
  t.deepEqual(records.map(([o]) => o), Array.from({ length: end }, (_, i) => i));
  t.is(appended.length + 1, end / 15);
  await log.close();
});

reserving('storage: preallocate.bytes=0 reserves nothing however large the segment grows', async (t) => {
  const { openIt, onDisk } = await setup(t, 0);
  const log = await openIt();
  for (let i = 0; i < 10; i++) await log.appendAsLeader(big(), 0);
  await new Promise((r) => setTimeout(r, 50));
  const st = await onDisk(0);
  t.true(st.size > 2 * chunk);
  t.true(st.allocated < st.size + 16 * KiB, `${st.allocated} allocated for ${st.size}`);
  await log.close();
});
