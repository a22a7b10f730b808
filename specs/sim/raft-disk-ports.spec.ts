// The simulator's durable Raft ports keep exactly what they acknowledged through a power loss, recover a torn tail
// to the last whole entry, and (as planted bugs) lose acknowledged state when they skip the sync.
import test from 'ava';
import type { RaftEntry } from '../../src/wire/raft.js';
import { createPrng } from '../../sim/runtime/prng.js';
import { SimDisk } from '../../sim/runtime/disk.js';
import { SimDiskQuorumStore, SimDiskRaftLog } from '../../sim/systems/raft-disk-ports.js';

const entry = (offset: number, epoch: number): RaftEntry => ({ offset, epoch, record: { type: 'data', data: Uint8Array.of(offset, epoch) } });
const disk = (): SimDisk => new SimDisk({ random: createPrng('raft-disk-ports'), name: 'n1' });

test('raft disk log: appended and truncated state survives a power loss once acknowledged', async (t) => {
  const d = disk();
  const log = await SimDiskRaftLog.open(d);
  await log.append([entry(0, 1), entry(1, 1), entry(2, 2)]);
  await log.truncateTo(2);
  await log.append([entry(2, 3)]);
  d.setCrashModel({ keep: 0, lose: 1, tear: 0, corrupt: 0 });
  d.crash();
  const back = await SimDiskRaftLog.open(d);
  t.deepEqual(back.all(), [entry(0, 1), entry(1, 1), entry(2, 3)]);
  t.is(back.endOffset(), 3);
  await back.append([entry(3, 3)]);
  t.deepEqual((await SimDiskRaftLog.open(d)).all().map((e) => e.offset), [0, 1, 2, 3]);
});

test('raft disk log: a torn unsynced tail is cut back to the last whole entry and the log goes on from there', async (t) => {
  const d = disk();
  await (await SimDiskRaftLog.open(d)).append([entry(0, 1)]);
  // The no-fsync variant leaves its appends unsynced on purpose: exactly what a crash can tear.
  const unsynced = await SimDiskRaftLog.open(d, 'no-fsync');
  await unsynced.append([entry(1, 1), entry(2, 1)]);
  d.setCrashModel({ keep: 0, lose: 0, tear: 1, corrupt: 0 });
  t.true(d.crash().writesTorn > 0, 'the unsynced append was torn');
  const back = await SimDiskRaftLog.open(d);
  t.deepEqual(back.all()[0], entry(0, 1));
  t.true(back.endOffset() >= 1 && back.endOffset() <= 3);
  await back.append([entry(back.endOffset(), 2)]);
  const again = await SimDiskRaftLog.open(d);
  t.is(again.endOffset(), back.endOffset());
});

test('raft disk log: a snapshot replaces the entries it covers, across a restart', async (t) => {
  const d = disk();
  const log = await SimDiskRaftLog.open(d);
  await log.append([entry(0, 1), entry(1, 1), entry(2, 2)]);
  await log.createSnapshot({ endOffset: 2, epoch: 1 }, Uint8Array.of(9, 9));
  await log.append([entry(3, 2)]);
  d.crash();
  const back = await SimDiskRaftLog.open(d);
  t.deepEqual(back.latestSnapshot(), { endOffset: 2, epoch: 1 });
  t.deepEqual(back.all(), [entry(2, 2), entry(3, 2)]);
  t.deepEqual((await back.readSnapshot({ endOffset: 2, epoch: 1 }, 0, 10)).bytes, Uint8Array.of(9, 9));
});

test('raft disk log (planted bug no-fsync): acknowledged appends vanish at a power loss', async (t) => {
  const d = disk();
  const log = await SimDiskRaftLog.open(d, 'no-fsync');
  await log.append([entry(0, 1), entry(1, 1)]);
  d.setCrashModel({ keep: 0, lose: 1, tear: 0, corrupt: 0 });
  d.crash();
  t.is((await SimDiskRaftLog.open(d)).endOffset(), 0);
});

test('raft quorum store: a written vote survives a power loss; the planted volatile-vote store forgets it', async (t) => {
  for (const [bug, expected] of [['none', 3], ['volatile-vote', 0]] as const) {
    const d = disk();
    const store = new SimDiskQuorumStore(d, bug);
    t.deepEqual(await store.read(), { epoch: 0, votedFor: null, leaderId: null });
    await store.write({ epoch: 3, votedFor: 2, leaderId: null });
    d.setCrashModel({ keep: 0, lose: 1, tear: 0, corrupt: 0 });
    d.crash();
    t.is((await new SimDiskQuorumStore(d, bug).read()).epoch, expected, bug);
  }
});
