// The KRaft message family validates at the edge: good messages parse to typed RaftMessages, bad ones are refused
// with a reason, and the registry map names every api with a request and a response schema.
import test from 'ava';
import { parseRaftMessage, raftApis } from '../../src/wire/raft.js';

test('wire raft: every api has a request and a response schema', (t) => {
  t.deepEqual(Object.keys(raftApis).sort(), ['raft.begin-quorum-epoch', 'raft.end-quorum-epoch', 'raft.fetch', 'raft.fetch-snapshot', 'raft.vote']);
  for (const api of Object.values(raftApis)) {
    t.truthy(api.request.safeParse);
    t.truthy(api.response.safeParse);
  }
});

test('wire raft: a fetch response with entries parses', (t) => {
  const parsed = parseRaftMessage({
    type: 'raft.fetch.response',
    from: 1,
    correlationId: 9,
    body: {
      errorCode: null,
      leaderEpoch: 3,
      leaderId: 1,
      highWatermark: 2,
      logStartOffset: 0,
      divergingEpoch: null,
      snapshotId: null,
      entries: [
        { offset: 0, epoch: 3, record: { type: 'leader-change', leaderId: 1, voters: [1, 2, 3] } },
        { offset: 1, epoch: 3, record: { type: 'data', data: new Uint8Array([1, 2]) } },
      ],
    },
  });
  t.true(parsed.ok);
});

test('wire raft: negative epochs, unknown apis and unknown error codes are refused', (t) => {
  const vote = { candidateEpoch: -1, candidateId: 1, lastOffsetEpoch: 0, lastOffset: 0, preVote: false };
  t.false(parseRaftMessage({ type: 'raft.vote.request', from: 1, correlationId: 1, body: vote }).ok);
  t.false(parseRaftMessage({ type: 'raft.nope.request', from: 1, correlationId: 1, body: {} }).ok);
  const response = { errorCode: 'NO_SUCH_CODE', leaderEpoch: 1, leaderId: null };
  t.false(parseRaftMessage({ type: 'raft.begin-quorum-epoch.response', from: 1, correlationId: 1, body: response }).ok);
  t.false(parseRaftMessage({ type: 'raft.fetch.request', from: -3, correlationId: 1, body: {} }).ok);
});
