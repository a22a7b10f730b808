// A follower's append of fetched entries (src/raft/states/follower.ts `appending`): the write is a promise whose
// completion comes back as `raft.log.appended` with the write's id. The next fetch, which acknowledges the entries,
// leaves only after that write is durable; the completion of a write the follower abandoned moves nothing; a failed
// write stops the node.
import test from 'ava';
import { setImmediate as flushTurn } from 'node:timers/promises';
import { MemoryRaftLog } from '../../src/raft/memory-log.js';
import { createRaftNode, raftConfig } from '../../src/raft/node.js';
import type { RaftEntry, RaftMessage } from '../../src/wire/raft.js';
import { SeededRandom, VirtualClock } from './harness.js';

/** A log whose appends take effect and resolve only when the test releases (or fails) them, one by one. */
class GatedLog extends MemoryRaftLog {
  private readonly gates: Array<{ entries: readonly RaftEntry[]; settle: (error: Error | null) => void }> = [];
  override append(entries: readonly RaftEntry[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.gates.push({
        entries,
        settle: (error) => {
          if (error !== null) reject(error);
          else super.append(entries).then(resolve, reject);
        },
      });
    });
  }
  get pending(): number {
    return this.gates.length;
  }
  async settle(index: number, error: Error | null = null): Promise<void> {
    const [gate] = this.gates.splice(index, 1);
    if (gate === undefined) throw new Error(`no append #${index} pending`);
    gate.settle(error);
    await flushTurn();
  }
}

function follower() {
  const log = new GatedLog();
  const sent: Array<{ to: number; message: RaftMessage }> = [];
  const errors: unknown[] = [];
  const node = createRaftNode({
    config: raftConfig(2, [1, 2, 3]),
    clock: new VirtualClock(),
    random: new SeededRandom(2),
    log,
    store: { read: () => Promise.resolve({ epoch: 0, votedFor: null, leaderId: null }), write: () => Promise.resolve() },
    send: (to, message) => sent.push({ to, message }),
  });
  node.actor.subscribe({ error: (e) => errors.push(e) });
  node.start();
  return { log, sent, errors, node };
}

/** The leader announces itself; the follower persists that and fetches. Returns that fetch's correlation id. */
async function follow(f: ReturnType<typeof follower>, leaderId: number, epoch: number): Promise<number> {
  f.node.deliver({ type: 'raft.begin-quorum-epoch.request', from: leaderId, correlationId: 0, body: { leaderEpoch: epoch, leaderId } });
  await flushTurn();
  await flushTurn();
  const fetch = f.sent.findLast((s) => s.to === leaderId && s.message.type === 'raft.fetch.request');
  if (fetch === undefined) throw new Error(`no fetch to n${leaderId}`);
  return fetch.message.correlationId;
}

function entriesAnswer(from: number, correlationId: number, epoch: number, entries: RaftEntry[]): RaftMessage {
  return {
    type: 'raft.fetch.response',
    from,
    correlationId,
    body: { errorCode: null, leaderEpoch: epoch, leaderId: from, highWatermark: 0, logStartOffset: 0, divergingEpoch: null, snapshotId: null, entries },
  };
}

const leaderChange = (offset: number, epoch: number, leaderId: number): RaftEntry => ({ offset, epoch, record: { type: 'leader-change', leaderId, voters: [1, 2, 3] } });

const fetchesTo = (f: ReturnType<typeof follower>, to: number): number[] =>
  f.sent.filter((s) => s.to === to && s.message.type === 'raft.fetch.request').map((s) => (s.message.type === 'raft.fetch.request' ? s.message.body.fetchOffset : -1));

test('follower append: the fetch that acknowledges fetched entries leaves only once they are durable', async (t) => {
  const f = follower();
  await flushTurn();
  const correlationId = await follow(f, 1, 1);
  f.node.deliver(entriesAnswer(1, correlationId, 1, [leaderChange(0, 1, 1)]));
  await flushTurn();
  t.is(f.log.pending, 1);
  t.deepEqual(fetchesTo(f, 1), [0], 'no fetch while the append is in flight');
  await f.log.settle(0);
  t.deepEqual(fetchesTo(f, 1), [0, 1], 'the next fetch acknowledges offset 0');
  t.deepEqual(f.errors, []);
});

test('follower append: the completion of an append the follower left behind moves nothing', async (t) => {
  const f = follower();
  await flushTurn();
  const first = await follow(f, 1, 1);
  f.node.deliver(entriesAnswer(1, first, 1, [leaderChange(0, 1, 1)]));
  await flushTurn();
  // A new leader of a later epoch: the follower persists it and fetches from it, its first append still in flight.
  const second = await follow(f, 3, 2);
  t.deepEqual(fetchesTo(f, 3), [0]);
  f.node.deliver(entriesAnswer(3, second, 2, [leaderChange(0, 2, 3)]));
  await flushTurn();
  t.is(f.log.pending, 2);
  // The abandoned write completes: that must not send n3 the fetch that acknowledges n3's entries.
  await f.log.settle(0);
  t.deepEqual(fetchesTo(f, 3), [0], 'a stale completion is not the current write');
  t.true(f.node.actor.getSnapshot().matches({ follower: 'appending' }));
  t.deepEqual(f.errors, []);
});

test('follower append: a failed append stops the node', async (t) => {
  const f = follower();
  await flushTurn();
  const correlationId = await follow(f, 1, 1);
  f.node.deliver(entriesAnswer(1, correlationId, 1, [leaderChange(0, 1, 1)]));
  await flushTurn();
  await f.log.settle(0, new Error('disk full'));
  await flushTurn();
  t.is(f.node.actor.getSnapshot().status, 'error');
  t.regex(String(f.errors[0]), /disk full/);
  t.deepEqual(fetchesTo(f, 1), [0]);
});
