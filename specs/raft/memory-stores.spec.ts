// The in-memory log and quorum store keep the invariants the storage-backed ones must keep too.
import test from 'ava';
import { MemoryRaftLog } from '../../src/raft/memory-log.js';
import { MemoryQuorumStateStore } from '../../src/raft/memory-quorum-store.js';
import { RaftInvariantError } from '../../src/raft/quorum.js';
import type { RaftEntry } from '../../src/wire/raft.js';

const entry = (offset: number, epoch: number): RaftEntry => ({ offset, epoch, record: { type: 'data', data: new Uint8Array([offset]) } });

async function logOf(epochs: number[]): Promise<MemoryRaftLog> {
  const log = new MemoryRaftLog();
  await log.append(epochs.map((e, i) => entry(i, e)));
  return log;
}

test('raft log: end offset, last epoch and reads follow appends', async (t) => {
  const log = await logOf([1, 1, 2]);
  t.is(log.endOffset(), 3);
  t.is(log.lastEpoch(), 2);
  t.deepEqual(log.read(1, 10).map((e) => e.offset), [1, 2]);
  t.is(log.entryAt(3), undefined);
});

test('raft log: appends must continue the log and never lower the epoch', async (t) => {
  const log = await logOf([1, 2]);
  await t.throwsAsync(async () => log.append([entry(5, 2)]), { instanceOf: RaftInvariantError });
  await t.throwsAsync(async () => log.append([entry(2, 1)]), { instanceOf: RaftInvariantError });
});

test('raft log: endOffsetForEpoch gives the end of the largest epoch not above the one asked', async (t) => {
  const log = await logOf([1, 1, 3, 3, 3, 5]);
  t.deepEqual(log.endOffsetForEpoch(1), { epoch: 1, endOffset: 2 });
  t.deepEqual(log.endOffsetForEpoch(2), { epoch: 1, endOffset: 2 });
  t.deepEqual(log.endOffsetForEpoch(4), { epoch: 3, endOffset: 5 });
  t.deepEqual(log.endOffsetForEpoch(9), { epoch: 5, endOffset: 6 });
  t.deepEqual(log.endOffsetForEpoch(0), { epoch: 0, endOffset: 0 });
});

test('raft log: truncation removes the suffix', async (t) => {
  const log = await logOf([1, 1, 2, 2]);
  await log.truncateTo(2);
  t.is(log.endOffset(), 2);
  t.is(log.lastEpoch(), 1);
});

test('quorum store: epoch never decreases and one vote per epoch', async (t) => {
  const store = new MemoryQuorumStateStore();
  await store.write({ epoch: 2, votedFor: 1, leaderId: null });
  await store.write({ epoch: 2, votedFor: 1, leaderId: 1 });
  await t.throwsAsync(async () => store.write({ epoch: 2, votedFor: 3, leaderId: 1 }), { instanceOf: RaftInvariantError });
  await t.throwsAsync(async () => store.write({ epoch: 1, votedFor: null, leaderId: null }), { instanceOf: RaftInvariantError });
  await t.throwsAsync(async () => store.write({ epoch: 2, votedFor: 1, leaderId: 2 }), { instanceOf: RaftInvariantError });
  t.deepEqual(await store.read(), { epoch: 2, votedFor: 1, leaderId: 1 });
});
