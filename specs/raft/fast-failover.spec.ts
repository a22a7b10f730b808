// Fast failover at the machine level (src/raft/states/follower.ts `suspecting`): a reset connection to the leader is
// a hint, probed before it is believed; reports about anyone but the current leader change nothing.
import test from 'ava';
import { raftFetchTimeoutMsDefault } from '../../src/limits.js';
import { Cluster } from './harness.js';

async function settledCluster(): Promise<Cluster> {
  const cluster = new Cluster({ seed: 1, voters: 3, trace: false });
  await cluster.tick(3000);
  const leader = cluster.leader();
  if (leader === null) throw new Error('no leader after 3 s');
  return cluster;
}

function followerOf(cluster: Cluster, leaderId: number): number {
  const id = cluster.voterIds.find((v) => v !== leaderId);
  if (id === undefined) throw new Error('no follower');
  return id;
}

test('fast failover: a follower told its live leader reset probes it, hears back, and keeps following in the same epoch', async (t) => {
  const cluster = await settledCluster();
  const leader = cluster.leader();
  if (leader === null) return t.fail('no leader');
  const id = followerOf(cluster, leader.id);
  const node = cluster.member(id).node;
  if (node === null) return t.fail('follower down');
  cluster.reportUnreachable(id, leader.id);
  t.true(node.actor.getSnapshot().matches({ follower: 'suspecting' }), 'the report moves it to probing at once');
  await cluster.tick(20);
  t.false(node.actor.getSnapshot().matches({ follower: 'suspecting' }), 'the leader answered the probe');
  t.is(node.status().role, 'follower');
  await cluster.tick(1000);
  t.deepEqual([node.status().role, node.status().epoch, node.status().leaderId], ['follower', leader.epoch, leader.id]);
  t.deepEqual(cluster.leader(), leader);
  t.deepEqual(cluster.failures, []);
});

test('fast failover: a report about a peer that is not our leader changes nothing', async (t) => {
  const cluster = await settledCluster();
  const leader = cluster.leader();
  if (leader === null) return t.fail('no leader');
  const id = followerOf(cluster, leader.id);
  const other = cluster.voterIds.find((v) => v !== leader.id && v !== id) ?? -1;
  const node = cluster.member(id).node;
  if (node === null) return t.fail('follower down');
  cluster.reportUnreachable(id, other);
  cluster.reportUnreachable(leader.id, id);
  t.false(node.actor.getSnapshot().matches({ follower: 'suspecting' }));
  await cluster.tick(1000);
  t.deepEqual(cluster.leader(), leader);
});

test('fast failover: a killed leader whose connections reset is replaced well under the fetch timeout, over many seeds', async (t) => {
  const delays: number[] = [];
  for (let seed = 1; seed <= 30; seed++) {
    const cluster = new Cluster({ seed, voters: 3, trace: false });
    await cluster.tick(3000);
    const old = cluster.leader();
    if (old === null) return t.fail(`seed ${seed}: no first leader`);
    cluster.crash(old.id);
    const crashedAt = cluster.clock.now();
    for (const id of cluster.voterIds) if (id !== old.id) cluster.reportUnreachable(id, old.id);
    while (cluster.clock.now() - crashedAt < raftFetchTimeoutMsDefault) {
      const now = cluster.leader();
      if (now !== null && now.epoch > old.epoch) break;
      await cluster.tick(5);
    }
    const next = cluster.leader();
    t.true(next !== null && next.epoch > old.epoch, `seed ${seed}: a new leader within the fetch timeout`);
    delays.push(cluster.clock.now() - crashedAt);
    t.deepEqual(cluster.failures, [], `seed ${seed}: safety`);
  }
  delays.sort((a, b) => a - b);
  const median = delays[Math.floor(delays.length / 2)] ?? Infinity;
  const max = delays.at(-1) ?? Infinity;
  t.log(`new leader after a leader crash with resets: median ${median} ms, max ${max} ms (virtual time, 30 seeds)`);
  // 250 ms of suspicion plus a pre-vote, a vote and two quorum-state writes; a split vote costs a further round.
  t.true(max < 1500, `max ${max} ms`);
  t.true(median < 400, `median ${median} ms`);
});
