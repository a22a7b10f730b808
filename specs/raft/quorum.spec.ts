// The quorum arithmetic of src/raft/quorum.ts, rule by rule, without xstate.
import test from 'ava';
import {
  decideVote,
  electionBackoffMs,
  fetchDivergence,
  hasMajority,
  highWatermark,
  isLogUpToDate,
  majority,
  majorityLost,
  quorumContactDeadlineMs,
  randomElectionTimeoutMs,
  RaftInvariantError,
  truncationOffset,
  unreachableLeaderDelayMs,
  type VoterView,
} from '../../src/raft/quorum.js';

test('quorum: a majority is more than half of the voters', (t) => {
  t.deepEqual([1, 2, 3, 4, 5].map(majority), [1, 2, 2, 3, 3]);
  t.throws(() => majority(0), { instanceOf: RaftInvariantError });
});

test('quorum: only voters count towards a majority, each once', (t) => {
  t.true(hasMajority([1, 2], [1, 2, 3]));
  t.false(hasMajority([1, 1, 9], [1, 2, 3]));
  t.true(majorityLost([2, 3], [1, 2, 3]));
  t.false(majorityLost([2, 9], [1, 2, 3]));
});

test('quorum: the high watermark is the offset a majority of voters hold', (t) => {
  t.is(highWatermark([10, 7, 3], 0, 2), 7);
  t.is(highWatermark([10, 7, 3, 3, 1], 0, 2), 3);
});

test('quorum: the high watermark only advances over an entry of the leader\'s own epoch', (t) => {
  // The new leader's epoch starts at offset 5: a majority holding 5 (everything before its epoch) commits nothing.
  t.is(highWatermark([6, 5, 5], 2, 5), 2);
  t.is(highWatermark([6, 6, 5], 2, 5), 6);
});

test('quorum: the high watermark never goes down', (t) => {
  t.is(highWatermark([9, 4, 4], 8, 3), 8);
});

test('quorum: a log is as up to date when its last epoch is higher, or equal and no shorter (Raft 5.4.1)', (t) => {
  t.true(isLogUpToDate({ lastEpoch: 3, endOffset: 1 }, { lastEpoch: 2, endOffset: 100 }));
  t.false(isLogUpToDate({ lastEpoch: 2, endOffset: 100 }, { lastEpoch: 3, endOffset: 1 }));
  t.true(isLogUpToDate({ lastEpoch: 2, endOffset: 5 }, { lastEpoch: 2, endOffset: 5 }));
  t.false(isLogUpToDate({ lastEpoch: 2, endOffset: 4 }, { lastEpoch: 2, endOffset: 5 }));
});

const view = (over: Partial<VoterView> = {}): VoterView => ({
  quorum: { epoch: 5, votedFor: null, leaderId: null },
  log: { lastEpoch: 4, endOffset: 10 },
  isVoter: true,
  hasLiveLeader: false,
  ...over,
});
const request = (over: Partial<Parameters<typeof decideVote>[1]> = {}): Parameters<typeof decideVote>[1] => ({
  candidateId: 2,
  candidateEpoch: 5,
  lastOffsetEpoch: 4,
  lastOffset: 10,
  preVote: false,
  ...over,
});

test('vote: a first vote in the epoch for an up-to-date candidate is granted after it is persisted', (t) => {
  t.deepEqual(decideVote(view(), request()), {
    kind: 'persist-then-reply',
    state: { epoch: 5, votedFor: 2, leaderId: null },
    granted: true,
  });
});

test('vote: at most one vote per epoch; the same candidate hears yes again without a new write', (t) => {
  const voted = view({ quorum: { epoch: 5, votedFor: 3, leaderId: null } });
  t.deepEqual(decideVote(voted, request()), { kind: 'reply', granted: false });
  t.deepEqual(decideVote(voted, request({ candidateId: 3 })), { kind: 'reply', granted: true });
});

test('vote: a stale candidate is refused; a newer epoch is adopted even when refused', (t) => {
  t.deepEqual(decideVote(view(), request({ candidateEpoch: 4 })), { kind: 'reply', granted: false });
  t.deepEqual(decideVote(view(), request({ candidateEpoch: 6, lastOffset: 3 })), {
    kind: 'persist-then-reply',
    state: { epoch: 6, votedFor: null, leaderId: null },
    granted: false,
  });
});

test('vote: no vote in an epoch whose leader is known', (t) => {
  t.deepEqual(decideVote(view({ quorum: { epoch: 5, votedFor: null, leaderId: 1 } }), request()), { kind: 'reply', granted: false });
});

test('pre-vote: granted without any write, and refused while a leader is alive (KIP-996)', (t) => {
  t.deepEqual(decideVote(view(), request({ candidateEpoch: 6, preVote: true })), { kind: 'reply', granted: true });
  t.deepEqual(decideVote(view({ hasLiveLeader: true }), request({ candidateEpoch: 6, preVote: true })), { kind: 'reply', granted: false });
  t.deepEqual(decideVote(view(), request({ candidateEpoch: 5, preVote: true })), { kind: 'reply', granted: false });
  t.deepEqual(decideVote(view(), request({ candidateEpoch: 6, preVote: true, lastOffsetEpoch: 3 })), { kind: 'reply', granted: false });
});

test('vote: observers never vote', (t) => {
  t.deepEqual(decideVote(view({ isVoter: false }), request()), { kind: 'reply', granted: false });
  t.is(decideVote(view({ isVoter: false }), request({ candidateEpoch: 7 })).kind, 'persist-then-reply');
});

test('fetch: a fetch that agrees with the leader has no divergence', (t) => {
  t.is(fetchDivergence(10, 4, { epoch: 4, endOffset: 12 }), null);
  t.is(fetchDivergence(12, 4, { epoch: 4, endOffset: 12 }), null);
});

test('fetch: a fetcher past the end of its last epoch on the leader is told where that epoch ends', (t) => {
  t.deepEqual(fetchDivergence(15, 4, { epoch: 4, endOffset: 12 }), { epoch: 4, endOffset: 12 });
});

test('fetch: an epoch the leader never had is answered with the leader\'s previous epoch', (t) => {
  t.deepEqual(fetchDivergence(15, 5, { epoch: 3, endOffset: 9 }), { epoch: 3, endOffset: 9 });
});

test('fetch: the follower truncates to the smaller of both ends of the diverging epoch', (t) => {
  t.is(truncationOffset({ epoch: 3, endOffset: 9 }, { epoch: 3, endOffset: 11 }), 9);
  t.is(truncationOffset({ epoch: 3, endOffset: 9 }, { epoch: 2, endOffset: 6 }), 6);
});

test('timing: election timeouts are randomised in [base, 2 base)', (t) => {
  t.is(randomElectionTimeoutMs(1000, 0), 1000);
  t.is(randomElectionTimeoutMs(1000, 0.999999), 1999);
});

test('timing: after a leader connection reset a follower waits a random [min, max) before its pre-vote', (t) => {
  t.is(unreachableLeaderDelayMs(50, 250, 0, 2000), 50);
  t.is(unreachableLeaderDelayMs(50, 250, 0.999999, 2000), 249);
  t.is(unreachableLeaderDelayMs(50, 250, 0.5, 2000), 150);
  // Never later than the fetch timeout would have fired anyway, and never zero.
  t.is(unreachableLeaderDelayMs(50, 250, 0.5, 80), 80);
  t.is(unreachableLeaderDelayMs(50, 250, 0.5, -5), 1);
  // Well under Kafka's fetch timeout, the fallback it shortcuts.
  t.true(unreachableLeaderDelayMs(50, 250, 0.999999, Number.POSITIVE_INFINITY) < 2000);
  t.throws(() => unreachableLeaderDelayMs(50, 250, 1, 2000), { instanceOf: RaftInvariantError });
  t.throws(() => unreachableLeaderDelayMs(250, 50, 0.5, 2000), { instanceOf: RaftInvariantError });
});

test('timing: election back-off grows exponentially up to its cap', (t) => {
  t.is(electionBackoffMs(0, 20, 1000, 0.99), 0);
  const ceilings = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => electionBackoffMs(n, 20, 1000, 0.999999));
  t.deepEqual(ceilings, [19, 39, 79, 159, 319, 639, 999, 999]);
});

test('check-quorum: a leader keeps its lease while a majority fetched within the window', (t) => {
  // Five voters: the leader needs two others. They last fetched at 900 and 500; the lease ends at 500 + 3000.
  t.is(quorumContactDeadlineMs([900, 500, 100, null], 5, 0, 3000), 3500);
  // A fresh leader counts silent voters from the moment it took over.
  t.is(quorumContactDeadlineMs([null, null], 3, 1000, 3000), 4000);
  t.is(quorumContactDeadlineMs([], 1, 0, 3000), Number.POSITIVE_INFINITY);
});
