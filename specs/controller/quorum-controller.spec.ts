// The quorum controller end to end, in process: real Raft nodes on a virtual clock, the controller machine on the
// voters, metadata followers everywhere, the broker lifecycle on brokers. Writes are answered only after commit and
// seen by every node; bad requests get precise codes; dead brokers are fenced and lose their leaderships; a
// controller failover keeps the committed image and answers the old controller's uncommitted writes NOT_CONTROLLER.
import test from 'ava';
import { decodeMetadataRecord, snapshotMetadataLog } from '../../src/controller/metadata-follower.js';
import type { PartitionChangeRecord } from '../../src/controller/records.js';
import { toSnapshot } from '../../src/controller/snapshot.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { QuorumCluster } from './quorum-harness.js';

async function startedCluster(options: ConstructorParameters<typeof QuorumCluster>[0]): Promise<QuorumCluster> {
  const c = new QuorumCluster(options);
  await c.runUntil(() => c.activeController() !== null, 10_000, 'a controller becomes active');
  const brokers = [...c.nodes.values()].filter((n) => n.lifecycle !== null);
  await c.runUntil(
    () => brokers.every((n) => c.nodes.get(c.activeController() ?? 0)?.follower.image().brokers.get(n.id)?.fenced === false),
    10_000,
    'every broker registered and unfenced',
  );
  return c;
}

function codeOf(error: unknown): string {
  return error instanceof RaftlineError ? error.code : `not a RaftlineError: ${String(error)}`;
}

test('quorum controller: with one voter, create-topics is answered only once committed, and the image holds the topic', async (t) => {
  const c = await startedCluster({ seed: 1, voters: 1, combined: true });
  const node = c.node(1);
  const order: string[] = [];
  node.follower.subscribe((e) => {
    if (e.type === 'committed' && e.image.topicsByName.has('orders') && !order.includes('committed')) order.push('committed');
  });
  const answer = c.call(1, 'controller.create-topics', { topics: [{ name: 'orders', numPartitions: 3, replicationFactor: 1 }] }).then((r) => {
    order.push('answered');
    return r;
  });
  t.deepEqual(order, [], 'nothing committed or answered synchronously');
  await c.run(100);
  const response = await answer;
  t.deepEqual(order, ['committed', 'answered'], 'the answer went out after the records committed');
  t.is(response.topics[0]?.error, null);
  t.is(response.topics[0]?.numPartitions, 3);
  const described = await c.call(1, 'controller.describe-topics', { topics: ['orders'] });
  t.deepEqual(described.topics[0]?.partitions.map((p) => [p.leader, p.replicas, p.isr]), [[1, [1], [1]], [1, [1], [1]], [1, [1], [1]]]);
  c.stopAll();
});

test('quorum controller: with three voters and three brokers, a created topic appears in every node\'s image', async (t) => {
  const c = await startedCluster({ seed: 2, voters: 3, brokers: 3 });
  const response = await Promise.all([c.callController('controller.create-topics', { topics: [{ name: 'events', numPartitions: 6, replicationFactor: 3 }] }), c.run(200)]);
  const topicId = response[0].topics[0]?.topicId;
  t.truthy(topicId);
  await c.run(300);
  for (const node of c.nodes.values()) {
    t.is(node.follower.image().topicsByName.get('events')?.topicId, topicId, `node ${node.id} sees the topic`);
  }
  // A broker answers describe-topics and describe-cluster from its own committed image.
  const described = await c.call(5, 'controller.describe-topics', { topics: ['events'] });
  const partitions = described.topics[0]?.partitions ?? [];
  t.is(partitions.length, 6);
  for (const p of partitions) {
    t.deepEqual([...p.replicas].sort(), [4, 5, 6]);
    t.deepEqual([...p.isr].sort(), [4, 5, 6]);
    t.true([4, 5, 6].includes(p.leader));
  }
  const cluster = await c.call(4, 'controller.describe-cluster', { includeFenced: false });
  t.is(cluster.controllerId, c.activeController());
  t.deepEqual(cluster.brokers.map((b) => b.brokerId), [4, 5, 6]);
  const quorum = await c.callController('controller.describe-quorum', {});
  t.deepEqual(quorum.voters.map((v) => v.nodeId), [1, 2, 3]);
  t.deepEqual(quorum.observers.map((o) => o.nodeId), [4, 5, 6]);
  t.true(quorum.voters.every((v) => v.lag !== null && v.lag <= quorum.logEndOffset));
  await t.throwsAsync(c.call(c.voterIds.find((id) => id !== c.activeController())!, 'controller.describe-quorum', {}), { message: /is not the active controller; node \d is/ });
  c.stopAll();
});

test('quorum controller: bad topic requests are answered with precise codes and messages', async (t) => {
  const c = await startedCluster({ seed: 3, voters: 3, brokers: 3 });
  const create = (topics: Parameters<typeof c.callController<'controller.create-topics'>>[1]['topics']) =>
    Promise.all([c.callController('controller.create-topics', { topics }), c.run(200)]).then(([r]) => r.topics);
  t.is((await create([{ name: 'orders', numPartitions: 1, replicationFactor: 3 }]))[0]?.error, null);
  const results = await create([
    { name: 'orders', numPartitions: 1, replicationFactor: 3 },
    { name: 'too-wide', numPartitions: 1, replicationFactor: 5 },
    { name: 'bad/name', numPartitions: 1, replicationFactor: 1 },
    { name: 'bad-config', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'shred' } },
  ]);
  t.deepEqual(results.map((r) => r.error?.code), ['TOPIC_ALREADY_EXISTS', 'INVALID_REPLICATION_FACTOR', 'INVALID_TOPIC_EXCEPTION', 'INVALID_CONFIG']);
  t.regex(results[1]?.error?.message ?? '', /5/);
  t.regex(results[2]?.error?.message ?? '', /bad\/name/);
  t.regex(results[3]?.error?.message ?? '', /cleanup\.policy/);
  const deleted = await Promise.all([c.callController('controller.delete-topics', { topics: [{ name: 'missing' }] }), c.run(200)]);
  t.is(deleted[0].topics[0]?.error?.code, 'UNKNOWN_TOPIC_OR_PARTITION');
  const described = await c.call(4, 'controller.describe-topics', { topics: ['missing'] });
  t.is(described.topics[0]?.error?.code, 'UNKNOWN_TOPIC_OR_PARTITION');
  t.regex(described.topics[0]?.error?.message ?? '', /missing/);
  // Nothing of the refused topics reached any image.
  for (const node of c.nodes.values()) t.deepEqual([...node.follower.image().topicsByName.keys()], ['orders']);
  // A write sent to a standby is refused with the active controller's id in the message.
  const standby = c.voterIds.find((id) => id !== c.activeController())!;
  const refused = await c.call(standby, 'controller.create-topics', { topics: [{ name: 'x', numPartitions: 1, replicationFactor: 1 }] }).catch((e: unknown) => e);
  t.is(codeOf(refused), 'NOT_CONTROLLER');
  t.regex((refused as Error).message, new RegExp(`node ${c.activeController()} is`));
  c.stopAll();
});

test('quorum controller: a broker killed with -9 is fenced after the session timeout and its partitions move within 3 s', async (t) => {
  const c = await startedCluster({ seed: 4, voters: 3, brokers: 3 });
  await Promise.all([c.callController('controller.create-topics', { topics: [{ name: 'events', numPartitions: 6, replicationFactor: 3 }] }), c.run(200)]);
  const victim = 6;
  const ledByVictim = (id: number) => [...(c.node(id).follower.image().topicsByName.get('events')?.partitions ?? [])].filter((p) => p.leader === victim).length;
  t.true(ledByVictim(1) > 0, 'the victim leads some partitions');
  c.crash(victim);
  const elapsed = await c.runUntil(
    () => [1, 2, 3, 4, 5].every((id) => c.node(id).follower.image().brokers.get(victim)?.fenced === true && ledByVictim(id) === 0),
    5_000,
    'the victim fenced and its leaderships moved, on every live node',
  );
  t.log(`leaderships moved ${elapsed} ms after the kill (virtual time)`);
  t.true(elapsed >= 2_000 - 500, 'not fenced before its session could have expired');
  t.true(elapsed <= 3_000, `moved within 3 s (took ${elapsed} ms)`);
  for (const p of c.node(4).follower.image().topicsByName.get('events')!.partitions) {
    t.false(p.isr.includes(victim));
    t.true([4, 5].includes(p.leader));
  }
  c.stopAll();
});

test('quorum controller: when the only in-sync replica dies, the partition goes offline unless the topic allows unclean election, which is flagged', async (t) => {
  const c = await startedCluster({ seed: 5, voters: 3, brokers: 2 });
  const run = async <T>(p: Promise<T>): Promise<T> => (await Promise.all([p, c.run(200)]))[0];
  await run(c.callController('controller.create-topics', {
    topics: [
      { name: 'strict', numPartitions: 1, replicationFactor: 2 },
      { name: 'lenient', numPartitions: 1, replicationFactor: 2, configs: { 'unclean.leader.election.enable': 'true' } },
    ],
  }));
  const image = () => c.node(1).follower.image();
  // Each leader reports that the other replica fell out of sync (AlterPartition), leaving itself alone in the ISR.
  for (const name of ['strict', 'lenient']) {
    const topic = image().topicsByName.get(name)!;
    const p = topic.partitions[0]!;
    const leaderEpoch = image().brokers.get(p.leader)!.brokerEpoch;
    await run(c.call(c.activeController()!, 'controller.alter-partition', {
      brokerId: p.leader, brokerEpoch: leaderEpoch, topicId: topic.topicId, partitionId: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [p.leader],
    }));
    t.deepEqual(image().topicsByName.get(name)!.partitions[0]!.isr, [p.leader]);
  }
  // Kill the leader of each (if one broker leads both, one kill does it).
  const leaders = new Set(['strict', 'lenient'].map((n) => image().topicsByName.get(n)!.partitions[0]!.leader));
  for (const id of leaders) c.crash(id);
  await c.runUntil(() => [...leaders].every((id) => image().brokers.get(id)?.fenced === true), 5_000, 'dead leaders fenced');
  await c.run(300);
  const strict = image().topicsByName.get('strict')!.partitions[0]!;
  const lenient = image().topicsByName.get('lenient')!.partitions[0]!;
  t.is(strict.leader, -1, 'the strict topic waits offline for its in-sync replica');
  t.true(lenient.leader !== -1 && !leaders.has(lenient.leader), 'the lenient topic elected its out-of-sync replica');
  const lenientId = image().topicsByName.get('lenient')!.topicId;
  const changes = c.node(1).log.read(0, 10_000)
    .filter((e) => e.record.type === 'data')
    .map((e) => decodeMetadataRecord((e.record as { data: Uint8Array }).data))
    .filter((r): r is PartitionChangeRecord => r.type === 'partition-change' && r.topicId === lenientId && r.leader === lenient.leader);
  t.true(changes.some((r) => r.unclean), 'the election record is flagged unclean');
  c.stopAll();
});

test('quorum controller: on failover the new controller serves the same committed image, and the old one\'s uncommitted writes get NOT_CONTROLLER', async (t) => {
  const c = await startedCluster({ seed: 6, voters: 3, brokers: 2 });
  await Promise.all([c.callController('controller.create-topics', { topics: [{ name: 'before', numPartitions: 2, replicationFactor: 2 }] }), c.run(200)]);
  const old = c.activeController()!;
  const committedBefore = c.node(old).follower.image();
  // Cut the active controller off: what it accepts now cannot commit.
  c.isolated.add(old);
  const stranded = c.call(old, 'controller.create-topics', { topics: [{ name: 'stranded', numPartitions: 1, replicationFactor: 1 }] }).then(
    () => 'committed',
    (e: unknown) => codeOf(e),
  );
  const failoverMs = await c.runUntil(() => c.activeController() !== null && c.activeController() !== old, 10_000, 'a new controller is active');
  t.log(`a new controller was active ${failoverMs} ms after the old one was cut off (virtual time)`);
  const fresh = c.activeController()!;
  t.not(fresh, old);
  t.is(c.node(fresh).follower.image().topicsByName.get('before')?.topicId, committedBefore.topicsByName.get('before')?.topicId);
  await c.runUntil(() => c.node(old).controller?.role() !== 'active', 10_000, 'the old controller steps down');
  await c.run(10);
  t.is(await stranded, 'NOT_CONTROLLER', 'the uncommitted write was answered NOT_CONTROLLER');
  c.isolated.delete(old);
  // The client retries with the new controller, which commits it.
  const retried = await Promise.all([c.call(fresh, 'controller.create-topics', { topics: [{ name: 'stranded', numPartitions: 1, replicationFactor: 1 }] }), c.run(300)]);
  t.is(retried[0].topics[0]?.error, null);
  await c.run(1_000);
  for (const node of c.nodes.values()) {
    t.deepEqual([...node.follower.image().topicsByName.keys()].sort(), ['before', 'stranded'], `node ${node.id} converged`);
  }
  // The brokers followed NOT_CONTROLLER to the new controller and stayed unfenced.
  for (const id of [4, 5]) {
    t.is(c.node(id).lifecycle?.status().controller, fresh);
    t.false(c.node(fresh).follower.image().brokers.get(id)?.fenced);
  }
  c.stopAll();
});

test('broker lifecycle: controlled shutdown moves leaderships away before the broker is let go', async (t) => {
  const c = await startedCluster({ seed: 7, voters: 1, brokers: 3 });
  await Promise.all([c.callController('controller.create-topics', { topics: [{ name: 'events', numPartitions: 6, replicationFactor: 3 }] }), c.run(200)]);
  const image = () => c.node(1).follower.image();
  const leaving = 2;
  t.true(image().topicsByName.get('events')!.partitions.some((p) => p.leader === leaving));
  let done = false;
  void c.node(leaving).lifecycle!.shutdown().then(() => { done = true; });
  await c.runUntil(() => done, 5_000, 'controlled shutdown completes');
  t.true(image().brokers.get(leaving)?.fenced);
  t.true(image().topicsByName.get('events')!.partitions.every((p) => p.leader !== leaving && !p.isr.includes(leaving) && p.leader !== -1));
  t.is(c.node(leaving).lifecycle!.status().phase, 'stopped');
  c.stopAll();
});

test('quorum controller: a restarted voter rebuilds its image from its log, and the whole cluster comes back serving', async (t) => {
  const c = await startedCluster({ seed: 8, voters: 3, brokers: 2 });
  await Promise.all([c.callController('controller.create-topics', { topics: [{ name: 'kept', numPartitions: 3, replicationFactor: 2 }] }), c.run(300)]);
  const before = toSnapshot(c.node(1).follower.image());
  for (const id of [1, 2, 3]) c.crash(id);
  await c.run(500);
  for (const id of [1, 2, 3]) await c.restart(id);
  await c.runUntil(() => c.activeController() !== null, 10_000, 'a controller is active again');
  await c.run(1_000);
  for (const id of [1, 2, 3]) {
    t.deepEqual(toSnapshot(c.node(id).follower.image()).topics, before.topics, `node ${id} replayed the same topics`);
  }
  // The brokers went on heartbeating to whoever leads now, and stay unfenced.
  const active = c.activeController()!;
  t.true([4, 5].every((id) => c.node(active).follower.image().brokers.get(id)?.fenced === false));
  const created = await Promise.all([c.callController('controller.create-topics', { topics: [{ name: 'after', numPartitions: 1, replicationFactor: 2 }] }), c.run(300)]);
  t.is(created[0].topics[0]?.error, null);
  c.stopAll();
});

test('quorum controller: the same seed gives the same run, down to every node\'s image and the fencing time', async (t) => {
  const scenario = async (): Promise<string> => {
    const c = await startedCluster({ seed: 9, voters: 3, brokers: 3 });
    await Promise.all([c.callController('controller.create-topics', { topics: [{ name: 'd', numPartitions: 4, replicationFactor: 3 }] }), c.run(200)]);
    c.crash(5);
    const ms = await c.runUntil(() => c.node(1).follower.image().brokers.get(5)?.fenced === true, 5_000, 'broker 5 fenced');
    const images = [1, 2, 3, 4, 6].map((id) => JSON.stringify(toSnapshot(c.node(id).follower.image())));
    c.stopAll();
    return JSON.stringify({ ms, now: c.clock.now(), images });
  };
  t.is(await scenario(), await scenario());
});

test('quorum controller: images survive log compaction; a restarted node loads the snapshot, and one left behind installs the leader\'s', async (t) => {
  const c = await startedCluster({ seed: 10, voters: 3, brokers: 2 });
  const behind = c.voterIds.find((id) => id !== c.activeController())!;
  c.crash(behind);
  for (const name of ['a', 'b', 'c']) {
    await Promise.all([c.callController('controller.create-topics', { topics: [{ name, numPartitions: 2, replicationFactor: 2 }] }), c.run(200)]);
  }
  const expected = toSnapshot(c.node(c.activeController()!).follower.image()).topics;
  // Every live voter compacts its log up to what it has replayed.
  for (const id of c.voterIds.filter((v) => v !== behind)) {
    const n = c.node(id);
    t.true(await snapshotMetadataLog(n.raft, n.log, n.follower));
    t.true(n.log.startOffset() > 0);
  }
  // The node left behind is now older than every log start: it must install the leader's snapshot.
  await c.restart(behind);
  await c.runUntil(() => JSON.stringify(toSnapshot(c.node(behind).follower.image()).topics) === JSON.stringify(expected), 5_000, 'the lagging voter caught up');
  t.true(c.node(behind).log.startOffset() > 0, 'it got there through a snapshot');
  // A compacted node restarts from its own snapshot plus the entries after it.
  const other = c.voterIds.find((id) => id !== behind && id !== c.activeController())!;
  c.crash(other);
  await c.restart(other);
  t.deepEqual(toSnapshot(c.node(other).follower.image()).topics, expected, 'the snapshot alone already holds the topics');
  await c.run(1_000);
  t.deepEqual(toSnapshot(c.node(other).follower.image()).topics, expected);
  c.stopAll();
});

test('broker lifecycle: a broker restarted at once is refused as a duplicate until its old session expires, then registers anew', async (t) => {
  const c = await startedCluster({ seed: 12, voters: 1, brokers: 2 });
  const image = () => c.node(1).follower.image();
  const oldEpoch = image().brokers.get(2)!.brokerEpoch;
  c.crash(2);
  await c.restart(2);
  await c.run(500);
  t.regex(c.node(2).lifecycle!.status().lastError ?? '', /DUPLICATE_BROKER_REGISTRATION/, 'the old incarnation still holds the id');
  await c.runUntil(() => (image().brokers.get(2)?.brokerEpoch ?? 0) > oldEpoch && image().brokers.get(2)?.fenced === false, 5_000, 'the new incarnation registered and unfenced');
  t.is(c.node(2).lifecycle!.status().phase, 'running');
  t.is(c.node(2).lifecycle!.status().brokerEpoch, image().brokers.get(2)!.brokerEpoch);
  c.stopAll();
});
