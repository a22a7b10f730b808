// The Raft machine driven event by event, with a quorum-state store whose writes complete only when the test says
// so: nothing that depends on a write leaves the node before the write is durable.
import test from 'ava';
import { setImmediate as flushTurn } from 'node:timers/promises';
import { MemoryRaftLog } from '../../src/raft/memory-log.js';
import { createRaftNode, raftConfig } from '../../src/raft/node.js';
import type { QuorumState, QuorumStateStore } from '../../src/raft/ports.js';
import type { RaftEntry, RaftMessage } from '../../src/wire/raft.js';
import { SeededRandom, VirtualClock } from './harness.js';

/** A store whose writes wait for `release()`. */
class GatedStore implements QuorumStateStore {
  durable: QuorumState = { epoch: 0, votedFor: null, leaderId: null };
  private waiting: Array<() => void> = [];
  read(): Promise<QuorumState> {
    return Promise.resolve({ ...this.durable });
  }
  write(state: QuorumState): Promise<void> {
    this.durable = { ...state };
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  get pending(): number {
    return this.waiting.length;
  }
  async release(): Promise<void> {
    const all = this.waiting;
    this.waiting = [];
    for (const resolve of all) resolve();
    await flushTurn();
  }
}

function voterNode(nodeId: number, voters: number[]) {
  const clock = new VirtualClock();
  const store = new GatedStore();
  const sent: Array<{ to: number; message: RaftMessage }> = [];
  const commits: RaftEntry[] = [];
  const node = createRaftNode({
    config: raftConfig(nodeId, voters),
    clock,
    random: new SeededRandom(nodeId),
    log: new MemoryRaftLog(),
    store,
    send: (to, message) => sent.push({ to, message }),
    listener: { onCommit: (entries) => commits.push(...entries) },
  });
  node.start();
  return { clock, store, sent, commits, node };
}

const voteRequest = (candidateId: number, candidateEpoch: number): RaftMessage => ({
  type: 'raft.vote.request',
  from: candidateId,
  correlationId: 7,
  body: { candidateId, candidateEpoch, lastOffsetEpoch: 0, lastOffset: 0, preVote: false },
});

test('raft machine: a vote is granted only after the vote is durable', async (t) => {
  const { node, store, sent } = voterNode(2, [1, 2, 3]);
  await flushTurn();
  t.is(node.status().role, 'unattached');
  node.deliver(voteRequest(1, 1));
  t.is(node.status().role, 'persisting');
  t.deepEqual(store.durable, { epoch: 1, votedFor: 1, leaderId: null });
  t.deepEqual(sent, [], 'nothing is said before the write completes');
  // A second candidate of the same epoch arriving meanwhile gets no answer either (it will retry).
  node.deliver(voteRequest(3, 1));
  t.deepEqual(sent, []);
  await store.release();
  t.deepEqual(sent.map((s) => [s.to, s.message.type, s.message.type === 'raft.vote.response' && s.message.body.voteGranted]), [
    [1, 'raft.vote.response', true],
  ]);
  // Same epoch, other candidate: refused at once, no new write (one vote per epoch).
  node.deliver(voteRequest(3, 1));
  t.is(store.pending, 0);
  const last = sent.at(-1)?.message;
  t.true(last?.type === 'raft.vote.response' && last.body.voteGranted === false);
});

test('raft machine: BeginQuorumEpoch is acknowledged only after the new epoch and leader are durable', async (t) => {
  const { node, store, sent } = voterNode(2, [1, 2, 3]);
  await flushTurn();
  node.deliver({ type: 'raft.begin-quorum-epoch.request', from: 1, correlationId: 3, body: { leaderEpoch: 4, leaderId: 1 } });
  t.deepEqual(sent, []);
  t.deepEqual(store.durable, { epoch: 4, votedFor: null, leaderId: 1 });
  await store.release();
  t.deepEqual(sent.map((s) => s.message.type), ['raft.begin-quorum-epoch.response', 'raft.fetch.request']);
  t.is(node.status().role, 'follower');
});

test('raft machine: a single voter elects itself at once, commits its LeaderChange first, then proposals in order', async (t) => {
  const { node, store, clock, commits } = voterNode(1, [1]);
  await flushTurn();
  // No election timeout: with nobody else to hear from, waiting one would only delay the cluster's start.
  t.is(clock.now(), 0);
  // Candidacy (epoch 1, vote for self) and then leadership are both written before the node acts on them.
  t.is(node.status().role, 'persisting');
  await store.release();
  await store.release();
  t.is(node.status().role, 'leader');
  const proposed = node.propose([new TextEncoder().encode('a'), new TextEncoder().encode('b')]);
  t.deepEqual(await proposed, { ok: true, epoch: 1, baseOffset: 1, lastOffset: 2 });
  await flushTurn();
  t.deepEqual(
    commits.map((e) => [e.offset, e.record.type]),
    [
      [0, 'leader-change'],
      [1, 'data'],
      [2, 'data'],
    ],
  );
  t.is(node.status().highWatermark, 3);
  // A lone voter's check-quorum lease never lapses: it still leads a minute later.
  await clock.advanceTo(60_000);
  t.is(node.status().role, 'leader');
  t.is(node.status().epoch, 1);
});

test('raft machine: a non-leader refuses proposals and names the leader it knows', async (t) => {
  const { node, store } = voterNode(2, [1, 2, 3]);
  await flushTurn();
  node.deliver({ type: 'raft.begin-quorum-epoch.request', from: 1, correlationId: 3, body: { leaderEpoch: 2, leaderId: 1 } });
  await store.release();
  t.deepEqual(await node.propose([new Uint8Array([1])]), { ok: false, code: 'NOT_LEADER_OR_FOLLOWER', leaderId: 1, epoch: 2 });
});

test('raft machine: a failed leader append stops the node instead of leading on with a hole in its log', async (t) => {
  class FailingLog extends MemoryRaftLog {
    failAppends = false;
    override append(entries: readonly RaftEntry[]): Promise<void> {
      if (this.failAppends) return Promise.reject(new Error('disk full'));
      return super.append(entries);
    }
  }
  const log = new FailingLog();
  const clock = new VirtualClock();
  const errors: unknown[] = [];
  const node = createRaftNode({
    config: raftConfig(1, [1]),
    clock,
    random: new SeededRandom(1),
    log,
    store: { read: () => Promise.resolve({ epoch: 0, votedFor: null, leaderId: null }), write: () => Promise.resolve() },
    send: () => {},
  });
  node.actor.subscribe({ error: (e) => errors.push(e) });
  node.start();
  await clock.advanceTo(2_000);
  t.is(node.status().role, 'leader');
  log.failAppends = true;
  await node.propose([new Uint8Array([1])]);
  await flushTurn();
  t.is(node.actor.getSnapshot().status, 'error');
  t.regex(String(errors[0]), /disk full/);
});

test('raft machine: a late vote grant from an older epoch does not count, even when its correlation id matches the round', async (t) => {
  // Found by the raft-quorum swarm (seed 401 with long-poll timings): a restarted node reused correlation ids, the
  // network delivered a grant its previous incarnation had asked for in epoch 2, and it counted as a vote in epoch 3,
  // so two leaders led epoch 3.
  const { node, store, sent, clock } = voterNode(3, [1, 2, 3]);
  await flushTurn();
  // Pre-vote: wait out the election timeout, then answer the pre-vote round with a grant.
  await clock.advanceTo(2_100);
  t.is(node.status().role, 'prospective');
  const preVote = sent.find((s) => s.message.type === 'raft.vote.request' && s.message.body.preVote);
  if (preVote === undefined) return t.fail('no pre-vote sent');
  node.deliver({ type: 'raft.vote.response', from: 1, correlationId: preVote.message.correlationId, body: { errorCode: null, leaderEpoch: 0, leaderId: null, voteGranted: true, preVote: true } });
  await store.release();
  t.is(node.status().role, 'candidate');
  const epoch = node.status().epoch;
  const request = sent.findLast((s) => s.message.type === 'raft.vote.request' && !s.message.body.preVote);
  if (request === undefined) return t.fail('no vote request sent');
  // A grant carrying an older epoch, with this round's correlation id: not a vote in our epoch.
  node.deliver({ type: 'raft.vote.response', from: 2, correlationId: request.message.correlationId, body: { errorCode: null, leaderEpoch: epoch - 1, leaderId: null, voteGranted: true, preVote: false } });
  await flushTurn();
  t.is(node.status().role, 'candidate', 'a stale grant elected no one');
  // The real grant of this epoch does.
  node.deliver({ type: 'raft.vote.response', from: 2, correlationId: request.message.correlationId, body: { errorCode: null, leaderEpoch: epoch, leaderId: null, voteGranted: true, preVote: false } });
  await store.release();
  t.is(node.status().role, 'leader');
});

test('raft machine: a restarted node announces the leader its quorum state remembers (its host starts knowing none)', async (t) => {
  for (const [nodeId, remembered, announced] of [
    [4, { epoch: 3, votedFor: null, leaderId: 2 }, [{ epoch: 3, leaderId: 2 }]],
    // A node that led cannot know whether it still does: it announces the epoch without a leader.
    [2, { epoch: 3, votedFor: 2, leaderId: 2 }, [{ epoch: 3, leaderId: null }]],
    [4, { epoch: 0, votedFor: null, leaderId: null }, []],
  ] as const) {
    const store = new GatedStore();
    store.durable = { ...remembered };
    const changes: Array<{ epoch: number; leaderId: number | null }> = [];
    const node = createRaftNode({
      config: raftConfig(nodeId, [1, 2, 3]),
      clock: new VirtualClock(),
      random: new SeededRandom(nodeId),
      log: new MemoryRaftLog(),
      store,
      send: () => undefined,
      listener: { onLeaderChange: (change) => changes.push({ ...change }) },
    });
    node.start();
    await flushTurn();
    t.deepEqual(changes, [...announced], JSON.stringify(remembered));
    node.stop();
  }
});
