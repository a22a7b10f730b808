// The replication data plane in one process: three ReplicaManagers on SimDisks, the real controller core, fetches
// through the wire codec, virtual time. High watermark, acks, ISR shrink and expand, min.insync.replicas, KIP-320
// truncation, idempotent producers, consumer fetch and list-offsets.
import test from 'ava';
import { dataHandlers } from '../../src/replication/handlers.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { noResponse } from '../../src/wire/server.js';
import { ReplicationCluster, batch, idempotentBatch } from './harness.js';

test('replication: acks=all is answered once every ISR member has the batch, and followers learn the high watermark', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('orders', [[1, 2, 3]]);
  const answer = await c.produce(1, 'orders', batch(['a', 'b', 'c']), -1);
  t.is(answer.error, null);
  t.is(answer.baseOffset, 0);
  const leader = c.manager(1).replica('orders', 0)!;
  t.is(leader.highWatermark, 3, 'acknowledged only once the high watermark passed the batch');
  for (const id of [2, 3]) t.true(leader.followerProgress(id)!.logEndOffset >= 3, `follower ${id} fetched past the batch`);
  await c.runUntil(() => [2, 3].every((id) => c.manager(id).replica('orders', 0)!.highWatermark === 3), 2_000, 'followers learn HW 3');
  for (const id of [1, 2, 3]) t.deepEqual(await c.logValues(id, 'orders'), [[0, 'a'], [1, 'b'], [2, 'c']], `broker ${id}'s log`);
  await c.close();
});

test('replication: acks=1 answers after the leader appends; acks=all waits for a cut-off ISR member until REQUEST_TIMED_OUT', async (t) => {
  const c = new ReplicationCluster({ settings: { lagTimeMaxMs: 5_000 } });
  await c.createTopic('t', [[1, 2, 3]]);
  await c.produce(1, 't', batch(['warm']), -1);
  c.isolated.add(3);
  const one = await c.produce(1, 't', batch(['x']), 1);
  t.is(one.error, null);
  t.is(one.baseOffset, 1);
  const leader = c.manager(1).replica('t', 0)!;
  t.is(leader.highWatermark, 1, 'the high watermark waits for broker 3, still in the ISR');
  const all = await c.produce(1, 't', batch(['y']), -1, 600);
  t.is(all.error?.code, 'REQUEST_TIMED_OUT');
  t.true(all.error?.retriable);
  t.deepEqual([...c.partition('t').isr].sort(), [1, 2, 3], 'the ISR has not shrunk within replica.lag.time.max.ms');
  await c.close();
});

test('replication: a follower that lags past replica.lag.time.max.ms leaves the ISR, and rejoins once it reaches the high watermark', async (t) => {
  const c = new ReplicationCluster({ settings: { lagTimeMaxMs: 1_000 } });
  await c.createTopic('t', [[1, 2, 3]]);
  await c.produce(1, 't', batch(['a']), -1);
  c.isolated.add(3);
  await c.produce(1, 't', batch(['b']), 1);
  await c.runUntil(() => !c.partition('t').isr.includes(3), 3_000, 'broker 3 leaves the ISR');
  t.deepEqual([...c.partition('t').isr].sort(), [1, 2]);
  t.deepEqual(c.alterRequests.at(-1), { brokerId: 1, newIsr: [1, 2] });
  const leader = c.manager(1).replica('t', 0)!;
  await c.runUntil(() => leader.highWatermark === 2, 1_000, 'the HW advances without broker 3');
  const more = await c.produce(1, 't', batch(['c', 'd']), -1);
  t.is(more.error, null, 'acks=all succeeds with the smaller ISR');
  c.isolated.delete(3);
  await c.runUntil(() => c.partition('t').isr.includes(3), 3_000, 'broker 3 rejoins the ISR');
  t.deepEqual(await c.logValues(3, 't'), [[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd']]);
  t.is(c.manager(1).replica('t', 0)!.isr.length, 3, 'the leader took the controller\'s answer');
  await c.close();
});

test('replication: with min.insync.replicas=2, an ISR of one refuses acks=all with NOT_ENOUGH_REPLICAS and writes nothing', async (t) => {
  const c = new ReplicationCluster({ settings: { lagTimeMaxMs: 500 } });
  await c.createTopic('safe', [[1, 2, 3]], { 'min.insync.replicas': '2' });
  await c.produce(1, 'safe', batch(['a']), -1);
  c.isolated.add(2);
  c.isolated.add(3);
  await c.runUntil(() => c.partition('safe').isr.length === 1, 3_000, 'the ISR shrinks to the leader');
  const leader = c.manager(1).replica('safe', 0)!;
  const endBefore = leader.logEndOffset;
  const refused = await c.produce(1, 'safe', batch(['b']), -1);
  t.is(refused.error?.code, 'NOT_ENOUGH_REPLICAS');
  t.true(refused.error?.retriable);
  t.is(leader.logEndOffset, endBefore, 'nothing was written');
  const acksOne = await c.produce(1, 'safe', batch(['c']), 1);
  t.is(acksOne.error, null, 'acks=1 is not subject to min.insync.replicas');
  t.is(leader.highWatermark, endBefore, 'the high watermark does not advance while the ISR is below min.insync.replicas (KIP-966)');
  await c.close();
});

test('replication: an ISR that shrinks below min.insync.replicas after the append answers NOT_ENOUGH_REPLICAS_AFTER_APPEND', async (t) => {
  const c = new ReplicationCluster({ settings: { lagTimeMaxMs: 500 } });
  await c.createTopic('safe', [[1, 2, 3]], { 'min.insync.replicas': '2' });
  await c.produce(1, 'safe', batch(['a']), -1);
  c.isolated.add(3);
  await c.runUntil(() => c.partition('safe').isr.length === 2, 3_000, 'broker 3 leaves the ISR');
  c.isolated.add(2);
  const answer = await c.produce(1, 'safe', batch(['b']), -1, 10_000);
  t.is(answer.error?.code, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND');
  t.deepEqual([...c.partition('safe').isr], [1]);
  t.deepEqual((await c.logValues(1, 'safe')).map(([, v]) => v), ['a', 'b'], 'the batch was written to the leader');
  await c.close();
});

test('replication: a deposed leader truncates its unreplicated tail on the diverging epoch and copies the new leader (KIP-320)', async (t) => {
  const c = new ReplicationCluster({ settings: { lagTimeMaxMs: 10_000 } });
  await c.createTopic('t', [[1, 2, 3]]);
  await c.produce(1, 't', batch(['a', 'b']), -1);
  // Broker 1 is cut off and writes a tail nobody else has (acks=1), then the controller fences it.
  c.isolated.add(1);
  const lost = await c.produce(1, 't', batch(['lost-1', 'lost-2', 'lost-3']), 1);
  t.is(lost.error, null);
  c.fence(1);
  const newLeader = c.partition('t').leader;
  t.not(newLeader, 1);
  await c.runUntil(() => c.manager(newLeader).replica('t', 0)?.currentRole === 'leader', 1_000, 'the new leader takes over');
  const after = await c.produce(newLeader, 't', batch(['c']), -1);
  t.is(after.error, null);
  t.is(after.baseOffset, 2, 'the new leader continues from the committed prefix');
  // Broker 1 comes back: it learns it is a follower, is told its epoch-0 tail diverges, truncates and catches up.
  c.isolated.delete(1);
  c.unfence(1);
  await c.runUntil(() => c.manager(1).replica('t', 0)!.logEndOffset === 3 && c.partition('t').isr.includes(1), 5_000, 'broker 1 converges and rejoins');
  const expected = [[0, 'a'], [1, 'b'], [2, 'c']];
  for (const id of [1, 2, 3]) t.deepEqual(await c.logValues(id, 't'), expected, `broker ${id}'s log`);
  t.deepEqual(c.manager(1).replica('t', 0)!.partitionLog.epochEntries.map((e) => e.epoch), c.manager(newLeader).replica('t', 0)!.partitionLog.epochEntries.map((e) => e.epoch));
  await c.close();
});

test('replication: an idempotent producer\'s retry gets its original offsets, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER, and a new leader knows both', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('idem', [[1, 2, 3]]);
  const { producerId, producerEpoch } = await c.await(c.manager(1).initProducerId());
  t.is(producerEpoch, 0);
  const second = await c.await(c.manager(2).initProducerId());
  t.not(second.producerId, producerId, 'brokers hand out ids from distinct controller blocks');
  const first = await c.produce(1, 'idem', idempotentBatch(['a', 'b', 'c'], producerId, 0), -1);
  t.is(first.baseOffset, 0);
  const retry = await c.produce(1, 'idem', idempotentBatch(['a', 'b', 'c'], producerId, 0), -1);
  t.is(retry.error, null);
  t.is(retry.baseOffset, 0, 'the duplicate is answered with its original offset');
  t.is(c.manager(1).replica('idem', 0)!.logEndOffset, 3, 'and not written again');
  const next = await c.produce(1, 'idem', idempotentBatch(['d'], producerId, 3), -1);
  t.is(next.baseOffset, 3);
  const gap = await c.produce(1, 'idem', idempotentBatch(['x'], producerId, 9), -1);
  t.is(gap.error?.code, 'OUT_OF_ORDER_SEQUENCE_NUMBER');
  const stale = await c.produce(1, 'idem', idempotentBatch(['x'], producerId, 0, 0), -1);
  t.is(stale.baseOffset, -1, 'an old sequence that matches no remembered batch is refused');
  // Failover: the new leader rebuilt nothing by hand; it kept producer state as a follower.
  c.fence(1);
  const leader = c.partition('idem').leader;
  await c.runUntil(() => c.manager(leader).replica('idem', 0)?.currentRole === 'leader', 1_000, 'the new leader takes over');
  const retried = await c.produce(leader, 'idem', idempotentBatch(['d'], producerId, 3), -1);
  t.is(retried.error, null);
  t.is(retried.baseOffset, 3, 'a retry after failover is still recognised');
  const continued = await c.produce(leader, 'idem', idempotentBatch(['e'], producerId, 4), -1);
  t.is(continued.baseOffset, 4);
  await c.close();
});

test('replication: KIP-360 epoch bump: InitProducerId with the current id and epoch answers the next epoch, which starts a fresh sequence at 0 while the old epoch is fenced', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('bump', [[1, 2, 3]]);
  const { producerId } = await c.await(c.manager(1).initProducerId());
  t.is((await c.produce(1, 'bump', idempotentBatch(['a', 'b'], producerId, 0), -1)).baseOffset, 0);
  // Any broker bumps it, without a new id block from the controller: the id is the producer's own.
  const bumped = await c.await(c.manager(2).initProducerId({ producerId, producerEpoch: 0 }));
  t.deepEqual(bumped, { producerId, producerEpoch: 1 });
  const notAtZero = await c.produce(1, 'bump', idempotentBatch(['x'], producerId, 5, 1), -1);
  t.is(notAtZero.error?.code, 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'a new epoch must start at sequence 0');
  const fresh = await c.produce(1, 'bump', idempotentBatch(['c'], producerId, 0, 1), -1);
  t.is(fresh.error, null);
  t.is(fresh.baseOffset, 2, 'sequence 0 of the new epoch is a new write, not a duplicate of the old epoch\'s sequence 0');
  const zombie = await c.produce(1, 'bump', idempotentBatch(['old'], producerId, 2, 0), -1);
  t.is(zombie.error?.code, 'INVALID_PRODUCER_EPOCH', 'the old epoch is fenced');
  t.is(c.manager(1).replica('bump', 0)!.logEndOffset, 3);
  const exhausted = await c.await(c.manager(1).initProducerId({ producerId, producerEpoch: 32_767 }));
  t.not(exhausted.producerId, producerId, 'an exhausted epoch gets a fresh id');
  t.is(exhausted.producerEpoch, 0);
  await c.close();
});

test('replication: consumers read only below the high watermark, long-poll for new data, and list offsets', async (t) => {
  const c = new ReplicationCluster({ settings: { lagTimeMaxMs: 10_000 } });
  await c.createTopic('t', [[1, 2, 3]]);
  await c.produce(1, 't', batch(['a', 'b'], 1_000), -1);
  c.isolated.add(2);
  await c.produce(1, 't', batch(['unreplicated'], 2_000), 1);
  const leaderManager = c.manager(1);
  const fetchAt = (offset: number, maxWaitMs = 0) =>
    c.await(leaderManager.fetch({ replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, topics: [{ name: 't', partitions: [{ partitionId: 0, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }] }));
  const got = (await fetchAt(0)).topics[0]!.partitions[0]!;
  t.is(got.error, null);
  t.is(got.highWatermark, 2);
  t.true(got.records.byteLength > 0);
  const atHw = (await fetchAt(2)).topics[0]!.partitions[0]!;
  t.is(atHw.records.byteLength, 0, 'the unreplicated record at offset 2 is not served to consumers');
  const beyond = (await fetchAt(99)).topics[0]!.partitions[0]!;
  t.is(beyond.error?.code, 'OFFSET_OUT_OF_RANGE');
  // A long poll at the high watermark returns as soon as the HW moves (broker 2 comes back and fetches).
  const started = c.clock.monotonicMs();
  const polling = fetchAt(2, 5_000);
  c.isolated.delete(2);
  const woke = (await polling).topics[0]!.partitions[0]!;
  t.true(woke.records.byteLength > 0);
  t.true(c.clock.monotonicMs() - started < 5_000, 'answered before maxWaitMs');
  const list = await c.await(
    leaderManager.listOffsets({ replicaId: -1, topics: [{ name: 't', partitions: [{ partitionId: 0, currentLeaderEpoch: -1, timestamp: -2 }, { partitionId: 0, currentLeaderEpoch: -1, timestamp: -1 }, { partitionId: 0, currentLeaderEpoch: -1, timestamp: 1_500 }] }] }),
  );
  t.deepEqual(list.topics[0]!.partitions.map((p) => p.offset), [0, 3, 2]);
  const fromFollower = await c.await(c.manager(2).fetch({ replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 100, topics: [{ name: 't', partitions: [{ partitionId: 0, fetchOffset: 0, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 100 }] }] }));
  t.is(fromFollower.topics[0]!.partitions[0]!.error?.code, 'NOT_LEADER_OR_FOLLOWER');
  t.is(fromFollower.topics[0]!.partitions[0]!.currentLeader?.leaderId, 1);
  const unknown = await c.await(leaderManager.produce({ acks: 1, timeoutMs: 100, topics: [{ name: 'nope', partitions: [{ partitionId: 0, records: batch(['z']) }] }] }));
  t.is(unknown.topics[0]!.partitions[0]!.error?.code, 'UNKNOWN_TOPIC_OR_PARTITION');
  const notLeader = await c.produce(2, 't', batch(['z']), 1);
  t.is(notLeader.error?.code, 'NOT_LEADER_OR_FOLLOWER');
  await c.close();
});

test('replication: a corrupt batch is refused with CORRUPT_MESSAGE and nothing is written', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('t', [[1, 2, 3]]);
  const bytes = batch(['a', 'b']);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
  const answer = await c.produce(1, 't', bytes, 1);
  t.is(answer.error?.code, 'CORRUPT_MESSAGE');
  t.is(c.manager(1).replica('t', 0)!.logEndOffset, 0);
  await c.close();
});

test('replication: through the data handlers, an acks=0 produce is written and answered with no response at all', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('t', [[1, 2, 3]]);
  const handlers = dataHandlers(c.manager(1), silentLogger);
  const context = {} as Parameters<NonNullable<typeof handlers['data.produce']>>[1];
  const answer = await c.await(Promise.resolve(handlers['data.produce']!({ acks: 0, timeoutMs: 100, topics: [{ name: 't', partitions: [{ partitionId: 0, records: batch(['quiet']) }] }] }, context)));
  t.is(answer, noResponse);
  t.is(c.manager(1).replica('t', 0)!.logEndOffset, 1);
  const refused = await c.await(Promise.resolve(handlers['data.produce']!({ acks: 0, timeoutMs: 100, topics: [{ name: 'missing', partitions: [{ partitionId: 0, records: batch(['x']) }] }] }, context)));
  t.is(refused, noResponse, 'errors of an acks=0 produce are not answered either');
  const metadata = await c.await(Promise.resolve(handlers['data.metadata']!({ topics: ['t', 'missing'] }, context)));
  if (metadata === noResponse) return t.fail('metadata must answer');
  t.deepEqual(metadata.brokers.map((b) => b.brokerId), [1, 2, 3]);
  t.like(metadata.topics[0]!.partitions[0], { leader: 1, isr: [1, 2, 3], offlineReplicas: [] });
  t.is(metadata.topics[1]!.error?.code, 'UNKNOWN_TOPIC_OR_PARTITION');
  await c.close();
});

test('replication: a broker restarted on its disk reopens its replicas and rebuilds producer state from the batch headers', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('t', [[1, 2, 3]]);
  const { producerId } = await c.await(c.manager(1).initProducerId());
  t.is((await c.produce(1, 't', idempotentBatch(['a', 'b'], producerId, 0), -1)).baseOffset, 0);
  t.is((await c.produce(1, 't', idempotentBatch(['c'], producerId, 2), -1)).baseOffset, 2);
  await c.await(c.manager(1).close());
  c.managers.delete(1);
  const restarted = c.startBroker(1);
  await c.runUntil(() => restarted.replica('t', 0)?.currentRole === 'leader', 1_000, 'broker 1 leads again');
  t.is(restarted.replica('t', 0)!.logEndOffset, 3, 'the log is reopened whole');
  t.deepEqual(restarted.replica('t', 0)!.producers.entry(producerId)?.batches.map((b) => [b.firstSequence, b.baseOffset]), [[0, 0], [2, 2]]);
  const retry = await c.produce(1, 't', idempotentBatch(['c'], producerId, 2), -1);
  t.is(retry.baseOffset, 2, 'a retry after the restart is still a duplicate');
  t.is((await c.produce(1, 't', idempotentBatch(['d'], producerId, 3), -1)).baseOffset, 3);
  await c.close();
});

test('replication: a fetch claiming to be a broker that is not a replica is refused, not served past the high watermark', async (t) => {
  const c = new ReplicationCluster({ brokers: 4 });
  await c.createTopic('t', [[1, 2, 3]]);
  c.isolated.add(2);
  c.isolated.add(3);
  await c.produce(1, 't', batch(['unreplicated']), 1);
  const res = await c.await(c.manager(1).fetch({ replicaId: 4, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, topics: [{ name: 't', partitions: [{ partitionId: 0, fetchOffset: 0, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: 0, partitionMaxBytes: 1 << 20 }] }] }));
  t.is(res.topics[0]!.partitions[0]!.error?.code, 'REPLICA_NOT_AVAILABLE');
  t.is(res.topics[0]!.partitions[0]!.records.byteLength, 0);
  await c.close();
});

test('replication: a high-watermark move wakes consumer long polls but not the follower fetches parked on the log', async (t) => {
  const c = new ReplicationCluster({ settings: { lagTimeMaxMs: 10_000 } });
  await c.createTopic('t', [[1, 2, 3]]);
  const leader = c.manager(1).replica('t', 0)!;
  let anyChange = 0;
  let logChange = 0;
  const subscribe = (): Array<() => void> => [leader.onChange(() => anyChange++), leader.onChange(() => logChange++, false)];
  // The followers are cut off: an acks=1 append changes the log and leaves the high watermark where it was.
  c.isolated.add(2);
  c.isolated.add(3);
  let off = subscribe();
  await c.produce(1, 't', batch(['a']), 1);
  t.is(leader.highWatermark, 0);
  t.deepEqual([anyChange, logChange], [1, 1], 'an append wakes both kinds');
  off.forEach((u) => u());
  // They come back and fetch: the high watermark moves, the leader's log does not.
  off = subscribe();
  c.isolated.delete(2);
  c.isolated.delete(3);
  await c.runUntil(() => leader.highWatermark === 1, 5_000, 'the high watermark reaches 1');
  t.true(anyChange >= 2, `the high-watermark listener woke (${anyChange - 1} times)`);
  t.is(logChange, 1, 'a listener on the log alone did not wake for the high watermark');
  off.forEach((u) => u());
  await c.close();
});
