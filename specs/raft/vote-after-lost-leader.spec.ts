// A voter that knew the leader of its epoch and gave up on it (fetch timeout) must not grant a vote in that same
// epoch: a late vote request of that epoch could otherwise elect a second leader of it. Found by the raft-quorum
// simulator (swarm seed 11 over raft-3.json): the grant tried to persist the epoch without its leader.
import test from 'ava';
import { decideVote } from '../../src/raft/quorum.js';

const request = { candidateId: 2, candidateEpoch: 5, lastOffsetEpoch: 5, lastOffset: 10, preVote: false };
const view = { quorum: { epoch: 5, votedFor: null, leaderId: null }, log: { lastEpoch: 5, endOffset: 10 }, isVoter: true, hasLiveLeader: false };

test('vote: a voter that lost the leader of its epoch refuses a vote in that epoch', (t) => {
  t.deepEqual(decideVote({ ...view, epochHadLeader: true }, request), { kind: 'reply', granted: false });
});

test('vote: without a leader ever known in the epoch the same request is granted after persisting', (t) => {
  t.deepEqual(decideVote(view, request), { kind: 'persist-then-reply', state: { epoch: 5, votedFor: 2, leaderId: null }, granted: true });
});

test('vote: a voter that lost its leader still votes in a newer epoch', (t) => {
  t.is(decideVote({ ...view, epochHadLeader: true }, { ...request, candidateEpoch: 6 }).granted, true);
});
