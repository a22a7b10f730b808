// KIP-595 long poll (src/raft/setup.ts serveFetch / answerParkedFetches): the leader holds a fetch that finds nothing
// new, so idle followers cost a round trip per fetchMaxWaitMs instead of a poll every fetchIdleMs, and news (an append,
// a new high watermark) reaches them one hop after it happens instead of at their next poll.
import test from 'ava';
import { raftFetchIdleMsDefault, raftFetchMaxWaitMsDefault } from '../../src/limits.js';
import { Cluster } from './harness.js';

async function settled(config = {}): Promise<Cluster> {
  const cluster = new Cluster({ seed: 3, voters: 3, trace: false, netLatencyMs: [1, 3], config });
  await cluster.tick(3000);
  if (cluster.leader() === null) throw new Error('no leader after 3 s');
  return cluster;
}

function fetches(cluster: Cluster): number {
  return cluster.sentByType.get('raft.fetch.request') ?? 0;
}

test('long poll: an idle quorum sends about one fetch per follower per max wait, not one per idle pause', async (t) => {
  const idleMs = 10_000;
  const longPoll = await settled();
  const leader = longPoll.leader();
  const before = fetches(longPoll);
  await longPoll.tick(idleMs);
  const held = fetches(longPoll) - before;
  const polling = await settled({ fetchMaxWaitMs: 0 });
  const beforePolling = fetches(polling);
  await polling.tick(idleMs);
  const polled = fetches(polling) - beforePolling;
  t.log(`fetches in ${idleMs} ms idle, 2 followers: ${held} with long poll, ${polled} polling every ${raftFetchIdleMsDefault} ms`);
  // Two followers, one fetch per max wait each (plus rounding at both ends).
  t.true(held <= 2 * (idleMs / raftFetchMaxWaitMsDefault + 2), `${held} fetches`);
  t.true(held >= 2 * (idleMs / raftFetchMaxWaitMsDefault - 2), `${held} fetches: the followers still fetch at least once per max wait`);
  t.true(polled > 5 * held);
  t.deepEqual(longPoll.leader(), leader, 'the held fetches keep the leader in contact with its quorum: no election');
  t.deepEqual(longPoll.failures, []);
});

test('long poll: a proposal reaches the held followers and commits everywhere within a few network hops', async (t) => {
  const cluster = await settled();
  const leader = cluster.leader();
  if (leader === null) return t.fail('no leader');
  await cluster.tick(200); // the followers' fetches are now held by the leader, mid-wait
  const outcome = await cluster.propose(leader.id, 'news');
  t.regex(outcome, /^ok/);
  const end = cluster.member(leader.id).node!.status().endOffset;
  // Followers get the entry (1 hop), fetch again (1 hop) so the leader advances the high watermark, which answers
  // their held fetches (1 hop): about 3 hops of 1-3 ms, far below the 500 ms wait and below a 50 ms poll.
  await cluster.tick(12);
  for (const id of cluster.voterIds) {
    const s = cluster.member(id).node!.status();
    t.is(s.highWatermark, end, `n${id} knows the entry is committed 12 ms after the proposal`);
  }
  t.deepEqual(cluster.failures, []);
});

test('long poll: a probe that asks for no wait is answered at once, not held', async (t) => {
  const cluster = await settled();
  const leader = cluster.leader();
  if (leader === null) return t.fail('no leader');
  const follower = cluster.voterIds.find((id) => id !== leader.id)!;
  // The fast-failover probe asks for no wait: the follower hears back within a round trip, not after 500 ms.
  cluster.reportUnreachable(follower, leader.id);
  const node = cluster.member(follower).node!;
  t.true(node.actor.getSnapshot().matches({ follower: 'suspecting' }));
  await cluster.tick(10);
  t.false(node.actor.getSnapshot().matches({ follower: 'suspecting' }), 'the probe was answered at once');
  t.deepEqual(cluster.leader(), leader);
});
