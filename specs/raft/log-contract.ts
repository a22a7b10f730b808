// The RaftLog contract as specifications, registered once per implementation (memory, storage on SimDisk, storage
// on the real disk), so every log the Raft machine may run on is held to exactly the same behaviour.
import test from 'ava';
import type { RaftLog } from '../../src/raft/ports.js';
import { RaftInvariantError } from '../../src/raft/quorum.js';
import type { RaftEntry } from '../../src/wire/raft.js';

export interface LogUnderTest {
  log: RaftLog;
  /** Closes it and opens it again from what it stored (undefined for a log that keeps nothing). */
  reopen?: () => Promise<RaftLog>;
  close?: () => Promise<void>;
}

export const dataEntry = (offset: number, epoch: number, size = 1): RaftEntry => ({
  offset,
  epoch,
  record: { type: 'data', data: new Uint8Array(size).fill(offset % 251) },
});

export function registerRaftLogContract(label: string, open: () => Promise<LogUnderTest>): void {
  async function logOf(epochs: number[]): Promise<LogUnderTest> {
    const subject = await open();
    await subject.log.append(epochs.map((e, i) => dataEntry(i, e)));
    return subject;
  }
  const done = async (subject: LogUnderTest): Promise<void> => subject.close?.();

  test(`${label}: end offset, last epoch and reads follow appends`, async (t) => {
    const subject = await logOf([1, 1, 2]);
    const { log } = subject;
    t.is(log.startOffset(), 0);
    t.is(log.endOffset(), 3);
    t.is(log.lastEpoch(), 2);
    t.deepEqual(log.read(1, 10).map((e) => e.offset), [1, 2]);
    t.deepEqual(log.read(0, 2).map((e) => e.offset), [0, 1]);
    t.deepEqual(log.read(3, 10), []);
    t.is(log.entryAt(3), undefined);
    t.deepEqual(log.entryAt(1), dataEntry(1, 1));
    t.throws(() => log.read(4, 1), { instanceOf: RaftInvariantError });
    await done(subject);
  });

  test(`${label}: appends must continue the log and never lower the epoch`, async (t) => {
    const subject = await logOf([1, 2]);
    await t.throwsAsync(async () => subject.log.append([dataEntry(5, 2)]), { instanceOf: RaftInvariantError });
    await t.throwsAsync(async () => subject.log.append([dataEntry(2, 1)]), { instanceOf: RaftInvariantError });
    t.is(subject.log.endOffset(), 2);
    await done(subject);
  });

  test(`${label}: endOffsetForEpoch gives the end of the largest epoch not above the one asked`, async (t) => {
    const subject = await logOf([1, 1, 3, 3, 3, 5]);
    const { log } = subject;
    t.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 2 });
    t.deepEqual(log.endOffsetForEpoch(2), { epoch: 1, endOffset: 2 });
    t.deepEqual(log.endOffsetForEpoch(4), { epoch: 3, endOffset: 5 });
    t.deepEqual(log.endOffsetForEpoch(9), { epoch: 5, endOffset: 6 });
    t.deepEqual(log.endOffsetForEpoch(0), { epoch: 0, endOffset: 0 });
    await done(subject);
  });

  test(`${label}: truncation removes the suffix, and the epochs with it`, async (t) => {
    const subject = await logOf([1, 1, 2, 2, 4]);
    const { log } = subject;
    await log.truncateTo(2);
    t.is(log.endOffset(), 2);
    t.is(log.lastEpoch(), 1);
    t.deepEqual(log.endOffsetForEpoch(9), { epoch: 1, endOffset: 2 });
    await log.truncateTo(7);
    t.is(log.endOffset(), 2, 'truncating past the end changes nothing');
    await log.append([dataEntry(2, 6)]);
    t.deepEqual(log.endOffsetForEpoch(5), { epoch: 1, endOffset: 2 });
    t.deepEqual(log.endOffsetForEpoch(6), { epoch: 6, endOffset: 3 });
    await done(subject);
  });

  test(`${label}: a LeaderChange control record is kept as it was appended`, async (t) => {
    const subject = await open();
    const control: RaftEntry = { offset: 0, epoch: 3, record: { type: 'leader-change', leaderId: 2, voters: [1, 2, 3] } };
    await subject.log.append([control, dataEntry(1, 3, 300)]);
    t.deepEqual(subject.log.read(0, 2), [control, dataEntry(1, 3, 300)]);
    if (subject.reopen) {
      const again = await subject.reopen();
      t.deepEqual(again.read(0, 2), [control, dataEntry(1, 3, 300)]);
    }
    await done(subject);
  });

  test(`${label}: a snapshot moves the log start and serves its bytes in chunks`, async (t) => {
    const subject = await logOf([1, 1, 2, 2, 3]);
    const { log } = subject;
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 256);
    await log.createSnapshot({ endOffset: 3, epoch: 2 }, bytes);
    t.deepEqual(log.latestSnapshot(), { endOffset: 3, epoch: 2 });
    t.is(log.startOffset(), 3);
    t.is(log.endOffset(), 5);
    t.is(log.entryAt(2), undefined);
    t.deepEqual(log.read(3, 10).map((e) => e.offset), [3, 4]);
    t.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 3 });
    t.deepEqual(log.endOffsetForEpoch(2), { epoch: 2, endOffset: 4 });
    const first = await log.readSnapshot({ endOffset: 3, epoch: 2 }, 0, 600);
    const rest = await log.readSnapshot({ endOffset: 3, epoch: 2 }, 600, 600);
    t.is(first.size, 1000);
    t.deepEqual([...first.bytes, ...rest.bytes], [...bytes]);
    await t.throwsAsync(async () => log.readSnapshot({ endOffset: 2, epoch: 1 }, 0, 10));
    await t.throwsAsync(async () => log.truncateTo(2), { instanceOf: RaftInvariantError });
    if (subject.reopen) {
      const again = await subject.reopen();
      t.deepEqual(again.latestSnapshot(), { endOffset: 3, epoch: 2 });
      t.deepEqual(again.read(3, 10), [dataEntry(3, 2), dataEntry(4, 3)]);
      t.deepEqual((await again.readSnapshot({ endOffset: 3, epoch: 2 }, 0, 2000)).bytes, bytes);
    }
    await done(subject);
  });

  test(`${label}: installing a leader's snapshot empties the log and restarts it at the snapshot's end`, async (t) => {
    const subject = await logOf([1, 1, 2]);
    const { log } = subject;
    await log.installSnapshot({ endOffset: 10, epoch: 4 }, Uint8Array.of(7, 7));
    t.is(log.startOffset(), 10);
    t.is(log.endOffset(), 10);
    t.is(log.lastEpoch(), 4);
    t.deepEqual(log.endOffsetForEpoch(9), { epoch: 4, endOffset: 10 });
    await log.append([dataEntry(10, 5)]);
    t.deepEqual(log.read(10, 5), [dataEntry(10, 5)]);
    if (subject.reopen) {
      const again = await subject.reopen();
      t.is(again.startOffset(), 10);
      t.deepEqual(again.read(10, 5), [dataEntry(10, 5)]);
      t.deepEqual((await again.readSnapshot({ endOffset: 10, epoch: 4 }, 0, 10)).bytes, Uint8Array.of(7, 7));
    }
    await done(subject);
  });
}
