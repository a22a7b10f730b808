// Specs for the controller's request handlers: each reads like the behaviour a Kafka user expects, and each checks
// that the records, once applied, yield the state the response describes.
import test from 'ava';
import {
  allocateProducerIds,
  alterPartition,
  brokerHeartbeat,
  controlledShutdown,
  createPartitions,
  createTopics,
  deleteTopics,
  electLeaders,
  fenceBroker,
  incrementalAlterConfigs,
  registerBroker,
  updateFeatures,
  type CreatableTopic,
} from '../../src/controller/commands.js';
import type { MetadataImage, PartitionImage } from '../../src/controller/image.js';
import { RaftlineError, type ErrorCode } from '../../src/wire/errors.js';
import { Harness } from './fixtures.js';

function topic(name: string, numPartitions = 3, replicationFactor = 3, configs: Record<string, string> = {}): CreatableTopic {
  return { name, numPartitions, replicationFactor, configs };
}

function cluster(brokers = 3, seed = 1): Harness {
  const h = new Harness(seed);
  for (let id = 1; id <= brokers; id++) h.addBroker(id);
  return h;
}

function part(image: MetadataImage, name: string, partitionId = 0): PartitionImage {
  const p = image.topicsByName.get(name)?.partitions[partitionId];
  if (p === undefined) throw new Error(`no partition ${name}-${partitionId}`);
  return p;
}

function expectError(t: import('ava').ExecutionContext, r: unknown, code: ErrorCode, pattern?: RegExp): void {
  t.true(r instanceof RaftlineError, `expected ${code}`);
  if (!(r instanceof RaftlineError)) return;
  t.is(r.code, code);
  if (pattern !== undefined) t.regex(r.message, pattern);
}

test('commands: a broker epoch is the offset of its registration record, and it starts fenced', (t) => {
  const h = new Harness();
  const r = h.ok((img, ctx) => registerBroker(img, { brokerId: 4, incarnationId: 'a', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx));
  t.is(r.brokerEpoch, h.image.offset);
  t.true(h.image.brokers.get(4)?.fenced);
});

test('commands: a heartbeat unfences a broker only once it has replayed its registration', (t) => {
  const h = new Harness();
  const { brokerEpoch } = h.ok((img, ctx) => registerBroker(img, { brokerId: 1, incarnationId: 'a', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx));
  const behind = h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 1, brokerEpoch, currentMetadataOffset: brokerEpoch - 1, wantFence: false, wantShutDown: false }, ctx));
  t.like(behind, { isCaughtUp: false, isFenced: true });
  const caughtUp = h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 1, brokerEpoch, currentMetadataOffset: brokerEpoch, wantFence: false, wantShutDown: false }, ctx));
  t.like(caughtUp, { isCaughtUp: true, isFenced: false });
  t.false(h.image.brokers.get(1)?.fenced);
});

test('commands: heartbeats with a stale epoch or from an unknown broker are refused', (t) => {
  const h = cluster(1);
  expectError(t, h.run((img, ctx) => brokerHeartbeat(img, { brokerId: 1, brokerEpoch: 999, currentMetadataOffset: 0, wantFence: false, wantShutDown: false }, ctx)), 'STALE_BROKER_EPOCH', /999/);
  expectError(t, h.run((img, ctx) => brokerHeartbeat(img, { brokerId: 9, brokerEpoch: 0, currentMetadataOffset: 0, wantFence: false, wantShutDown: false }, ctx)), 'BROKER_ID_NOT_REGISTERED', /broker 9/);
});

test('commands: another incarnation of a live broker is a duplicate registration', (t) => {
  const h = cluster(1);
  expectError(t, h.run((img, ctx) => registerBroker(img, { brokerId: 1, incarnationId: 'other', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx)), 'DUPLICATE_BROKER_REGISTRATION', /broker 1/);
});

test('commands: createTopics places partitions, leads from the ISR, and applies to the state it reports', (t) => {
  const h = cluster(3);
  const r = h.ok((img, ctx) => createTopics(img, { topics: [topic('orders', 6, 2, { 'retention.ms': '1000' })], validateOnly: false }, ctx));
  const res = r.topics[0]!;
  t.is(res.error, null);
  const created = h.image.topicsByName.get('orders');
  t.is(created?.topicId, res.topicId);
  t.is(created?.partitions.length, res.numPartitions);
  for (const p of created!.partitions) {
    t.is(p.replicas.length, 2);
    t.deepEqual(p.isr, p.replicas);
    t.is(p.leader, p.replicas[0] ?? -2);
  }
  t.is(h.image.configs.get('topic:orders')?.get('retention.ms'), '1000');
});

test('commands: validateOnly checks everything and writes nothing', (t) => {
  const h = cluster(3);
  const before = h.image;
  const r = h.ok((img, ctx) => createTopics(img, { topics: [topic('orders')], validateOnly: true }, ctx));
  t.is(r.topics[0]?.error, null);
  t.is(h.image, before);
});

test('commands: bad topics get named errors and do not stop good ones', (t) => {
  const h = cluster(2);
  h.ok((img, ctx) => createTopics(img, { topics: [topic('exists', 1, 1)], validateOnly: false }, ctx));
  const r = h.ok((img, ctx) => createTopics(img, {
    topics: [
      topic('exists', 1, 1),
      topic('too-wide', 1, 3),
      topic('bad name!', 1, 1),
      topic('bad-config', 1, 1, { 'retention.ms': 'forever' }),
      topic('no-partitions', 0, 1),
      topic('fine', 2, 2),
    ],
    validateOnly: false,
  }, ctx));
  const errors = Object.fromEntries(r.topics.map((x) => [x.name, x.error]));
  t.like(errors['exists'], { code: 'TOPIC_ALREADY_EXISTS' });
  t.regex(errors['exists']?.message ?? '', /"exists"/);
  t.like(errors['too-wide'], { code: 'INVALID_REPLICATION_FACTOR' });
  t.regex(errors['too-wide']?.message ?? '', /replication factor 3 .* 2 live/);
  t.like(errors['bad name!'], { code: 'INVALID_TOPIC_EXCEPTION' });
  t.like(errors['bad-config'], { code: 'INVALID_CONFIG' });
  t.regex(errors['bad-config']?.message ?? '', /retention\.ms.*forever|forever.*retention\.ms/);
  t.like(errors['no-partitions'], { code: 'INVALID_PARTITIONS' });
  t.is(errors['fine'], null);
  t.deepEqual([...h.image.topicsByName.keys()].sort(), ['exists', 'fine']);
});

test('commands: the replication factor counts only live (unfenced) brokers', (t) => {
  const h = cluster(3);
  h.ok((img, ctx) => fenceBroker(img, 3, ctx));
  const r = h.ok((img, ctx) => createTopics(img, { topics: [topic('t', 1, 3)], validateOnly: false }, ctx));
  t.like(r.topics[0]?.error, { code: 'INVALID_REPLICATION_FACTOR' });
});

test('commands: deleting an unknown topic is UNKNOWN_TOPIC_OR_PARTITION; a known one disappears', (t) => {
  const h = cluster(1);
  h.ok((img, ctx) => createTopics(img, { topics: [topic('a', 1, 1)], validateOnly: false }, ctx));
  const r = h.ok((img, ctx) => deleteTopics(img, { topics: [{ name: 'a' }, { name: 'ghost' }] }, ctx));
  t.is(r.topics[0]?.error, null);
  t.like(r.topics[1]?.error, { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
  t.regex(r.topics[1]?.error?.message ?? '', /"ghost"/);
  t.false(h.image.topicsByName.has('a'));
});

test('commands: createPartitions grows a topic and refuses to shrink it', (t) => {
  const h = cluster(3);
  h.ok((img, ctx) => createTopics(img, { topics: [topic('a', 2, 2)], validateOnly: false }, ctx));
  const grown = h.ok((img, ctx) => createPartitions(img, { topics: [{ name: 'a', count: 5 }], validateOnly: false }, ctx));
  t.is(grown.topics[0]?.error, null);
  t.is(h.image.topicsByName.get('a')?.partitions.length, 5);
  const shrink = h.ok((img, ctx) => createPartitions(img, { topics: [{ name: 'a', count: 4 }, { name: 'none', count: 2 }], validateOnly: false }, ctx));
  t.like(shrink.topics[0]?.error, { code: 'INVALID_PARTITIONS' });
  t.regex(shrink.topics[0]?.error?.message ?? '', /has 5 partitions; the new count 4/);
  t.like(shrink.topics[1]?.error, { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
});

test('commands: fencing a leader elects the next ISR member and bumps the leader epoch', (t) => {
  const h = cluster(3);
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2, 3]], configs: {} }], validateOnly: false }, ctx));
  const before = part(h.image, 'a');
  h.ok((img, ctx) => fenceBroker(img, 1, ctx));
  const after = part(h.image, 'a');
  t.is(after.leader, 2);
  t.deepEqual(after.isr, [2, 3]);
  t.is(after.leaderEpoch, before.leaderEpoch + 1);
  t.true(after.partitionEpoch > before.partitionEpoch);
});

test('commands: without ELR, the last ISR member stays in the ISR and the partition goes offline', (t) => {
  const h = cluster(2);
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2]], configs: {} }], validateOnly: false }, ctx));
  h.ok((img, ctx) => fenceBroker(img, 2, ctx));
  h.ok((img, ctx) => fenceBroker(img, 1, ctx));
  t.like(part(h.image, 'a'), { leader: -1, isr: [1] });
  // Broker 2 comes back first: it is not in the ISR, so (unclean election off) the partition stays offline.
  h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 2, brokerEpoch: h.epoch(2), currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
  t.like(part(h.image, 'a'), { leader: -1, isr: [1] });
  h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 1, brokerEpoch: h.epoch(1), currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
  t.like(part(h.image, 'a'), { leader: 1, isr: [1] });
});

test('commands: with unclean.leader.election.enable, a live out-of-sync replica leads and the change says unclean', (t) => {
  const h = cluster(2);
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2]], configs: { 'unclean.leader.election.enable': 'true' } }], validateOnly: false }, ctx));
  h.ok((img, ctx) => fenceBroker(img, 2, ctx));
  h.ok((img, ctx) => fenceBroker(img, 1, ctx));
  const outcome = brokerHeartbeat(h.image, { brokerId: 2, brokerEpoch: h.epoch(2), currentMetadataOffset: h.image.offset, wantFence: false, wantShutDown: false }, h.ctx());
  if (outcome instanceof RaftlineError) return t.fail(outcome.message);
  const change = outcome.records.find((r) => r.type === 'partition-change');
  t.like(change, { leader: 2, isr: [2], unclean: true });
  h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 2, brokerEpoch: h.epoch(2), currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
  t.like(part(h.image, 'a'), { leader: 2, isr: [2] });
});

test('commands: with ELR on, fenced ISR members below min.insync.replicas become eligible and one is elected back cleanly', (t) => {
  const h = cluster(3);
  h.ok((img, ctx) => updateFeatures(img, { name: 'eligible.leader.replicas.version', level: 1 }, ctx));
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2, 3]], configs: { 'min.insync.replicas': '2' } }], validateOnly: false }, ctx));
  h.ok((img, ctx) => fenceBroker(img, 3, ctx));
  t.like(part(h.image, 'a'), { isr: [1, 2], elr: [] }, 'ISR still at min.insync.replicas: no ELR');
  h.ok((img, ctx) => fenceBroker(img, 2, ctx));
  t.like(part(h.image, 'a'), { leader: 1, isr: [1], elr: [2] });
  h.ok((img, ctx) => fenceBroker(img, 1, ctx));
  t.like(part(h.image, 'a'), { leader: -1, isr: [], elr: [1, 2] });
  h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 2, brokerEpoch: h.epoch(2), currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
  t.like(part(h.image, 'a'), { leader: 2, isr: [2], elr: [1] });
});

test('commands: an unclean shutdown takes a broker out of the ELR into the last known ELR', (t) => {
  const h = cluster(2);
  h.ok((img, ctx) => updateFeatures(img, { name: 'eligible.leader.replicas.version', level: 1 }, ctx));
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2]], configs: { 'min.insync.replicas': '2' } }], validateOnly: false }, ctx));
  h.ok((img, ctx) => fenceBroker(img, 2, ctx));
  t.like(part(h.image, 'a'), { isr: [1], elr: [2] });
  h.ok((img, ctx) => registerBroker(img, { brokerId: 2, incarnationId: 'restarted', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx));
  t.like(part(h.image, 'a'), { isr: [1], elr: [], lastKnownElr: [2] });
});

/** Broker 2 of [1, 2] with ELR on and min.insync.replicas=2, fenced: ISR [1], ELR [2]. */
function elrWithBroker2Fenced(configs: Record<string, string> = {}): Harness {
  const h = cluster(2);
  h.ok((img, ctx) => updateFeatures(img, { name: 'eligible.leader.replicas.version', level: 1 }, ctx));
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2]], configs: { 'min.insync.replicas': '2', ...configs } }], validateOnly: false }, ctx));
  h.ok((img, ctx) => fenceBroker(img, 2, ctx));
  return h;
}

test('commands: a clean restart (previousBrokerEpoch = the registered epoch) keeps the broker in the ELR, and it leads once unfenced', (t) => {
  const h = elrWithBroker2Fenced();
  h.ok((img, ctx) => fenceBroker(img, 1, ctx));
  t.like(part(h.image, 'a'), { leader: -1, isr: [], elr: [1, 2] });
  const epoch = h.epoch(2);
  h.ok((img, ctx) => registerBroker(img, { brokerId: 2, incarnationId: 'restarted', rack: null, endpoints: [], previousBrokerEpoch: epoch }, ctx));
  t.like(part(h.image, 'a'), { leader: -1, isr: [], elr: [1, 2], lastKnownElr: [] }, 'still trusted to hold every committed record');
  h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 2, brokerEpoch: h.epoch(2), currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
  t.like(part(h.image, 'a'), { leader: 2, isr: [2], elr: [1] }, 'elected cleanly from the ELR');
});

test('commands: an unclean restart of every ELR member keeps the partition offline unless unclean election is on, which elects flagged unclean', (t) => {
  for (const unclean of [false, true]) {
    const h = elrWithBroker2Fenced({ 'unclean.leader.election.enable': String(unclean) });
    h.ok((img, ctx) => fenceBroker(img, 1, ctx));
    for (const id of [1, 2]) h.ok((img, ctx) => registerBroker(img, { brokerId: id, incarnationId: `again-${id}`, rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx));
    t.like(part(h.image, 'a'), { leader: -1, isr: [], elr: [], lastKnownElr: [1, 2] });
    const outcome = brokerHeartbeat(h.image, { brokerId: 1, brokerEpoch: h.epoch(1), currentMetadataOffset: h.image.offset, wantFence: false, wantShutDown: false }, h.ctx());
    if (outcome instanceof RaftlineError) return t.fail(outcome.message);
    const change = outcome.records.find((r) => r.type === 'partition-change');
    if (unclean) t.like(change, { leader: 1, isr: [1], unclean: true }, 'unclean on: the last known ELR leads, and the record says unclean');
    else t.is(change, undefined, 'unclean off: a replica that may have lost committed records never leads');
  }
});

test('commands: a previousBrokerEpoch other than the registered one (an older registration) counts as an unclean restart', (t) => {
  const h = elrWithBroker2Fenced();
  const stale = h.epoch(2) - 1;
  h.ok((img, ctx) => registerBroker(img, { brokerId: 2, incarnationId: 'restarted', rack: null, endpoints: [], previousBrokerEpoch: stale }, ctx));
  t.like(part(h.image, 'a'), { isr: [1], elr: [], lastKnownElr: [2] });
});

test('commands: with ELR off, the kind of restart changes nothing: the last ISR member stays and leads again (classic Kafka)', (t) => {
  const h = cluster(2);
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2]], configs: { 'min.insync.replicas': '2' } }], validateOnly: false }, ctx));
  h.ok((img, ctx) => fenceBroker(img, 2, ctx));
  h.ok((img, ctx) => fenceBroker(img, 1, ctx));
  h.ok((img, ctx) => registerBroker(img, { brokerId: 1, incarnationId: 'again', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx));
  t.like(part(h.image, 'a'), { leader: -1, isr: [1], elr: [], lastKnownElr: [] });
  h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 1, brokerEpoch: h.epoch(1), currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
  t.like(part(h.image, 'a'), { leader: 1, isr: [1] });
});

test('commands: AlterPartition checks leader, leader epoch and partition epoch, then moves members to the ELR', (t) => {
  const h = cluster(3);
  h.ok((img, ctx) => updateFeatures(img, { name: 'eligible.leader.replicas.version', level: 1 }, ctx));
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2, 3]], configs: { 'min.insync.replicas': '3' } }], validateOnly: false }, ctx));
  const p = part(h.image, 'a');
  const topicId = h.image.topicsByName.get('a')!.topicId;
  const base = { topicId, partitionId: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch };
  expectError(t, h.run((img, ctx) => alterPartition(img, { ...base, brokerId: 2, brokerEpoch: h.epoch(2), newIsr: [1, 2] }, ctx)), 'NOT_LEADER_OR_FOLLOWER', /broker 2/);
  expectError(t, h.run((img, ctx) => alterPartition(img, { ...base, brokerId: 1, brokerEpoch: h.epoch(1), leaderEpoch: p.leaderEpoch + 1, newIsr: [1, 2] }, ctx)), 'FENCED_LEADER_EPOCH');
  expectError(t, h.run((img, ctx) => alterPartition(img, { ...base, brokerId: 1, brokerEpoch: h.epoch(1), partitionEpoch: p.partitionEpoch + 7, newIsr: [1, 2] }, ctx)), 'INVALID_UPDATE_VERSION');
  expectError(t, h.run((img, ctx) => alterPartition(img, { ...base, brokerId: 1, brokerEpoch: h.epoch(1), newIsr: [2, 3] }, ctx)), 'INVALID_REQUEST', /leaves out the leader/);
  const r = h.ok((img, ctx) => alterPartition(img, { ...base, brokerId: 1, brokerEpoch: h.epoch(1), newIsr: [1, 2] }, ctx));
  t.deepEqual(r, { leader: 1, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch + 1, isr: [1, 2], elr: [3] });
  t.like(part(h.image, 'a'), { isr: [1, 2], elr: [3], partitionEpoch: r.partitionEpoch });
  // The same (now stale) request again is refused by the optimistic version.
  expectError(t, h.run((img, ctx) => alterPartition(img, { ...base, brokerId: 1, brokerEpoch: h.epoch(1), newIsr: [1] }, ctx)), 'INVALID_UPDATE_VERSION');
  const back = h.ok((img, ctx) => alterPartition(img, { ...base, partitionEpoch: r.partitionEpoch, brokerId: 1, brokerEpoch: h.epoch(1), newIsr: [1, 2, 3] }, ctx));
  t.like(back, { isr: [1, 2, 3], elr: [] });
});

test('commands: AlterPartition refuses to add a fenced broker to the ISR', (t) => {
  const h = cluster(3);
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2, 3]], configs: {} }], validateOnly: false }, ctx));
  h.ok((img, ctx) => fenceBroker(img, 3, ctx));
  const p = part(h.image, 'a');
  const topicId = h.image.topicsByName.get('a')!.topicId;
  expectError(t, h.run((img, ctx) => alterPartition(img, { topicId, partitionId: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, brokerId: 1, brokerEpoch: h.epoch(1), newIsr: [1, 2, 3] }, ctx)), 'INELIGIBLE_REPLICA', /broker 3/);
});

test('commands: controlled shutdown moves leadership away first, then fences and lets the broker stop', (t) => {
  const h = cluster(3);
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2, 3], [2, 1, 3]], configs: {} }], validateOnly: false }, ctx));
  const first = h.ok((img, ctx) => controlledShutdown(img, { brokerId: 1, brokerEpoch: h.epoch(1), currentMetadataOffset: img.offset }, ctx));
  t.like(first, { shouldShutDown: false, isFenced: false });
  t.true(h.image.brokers.get(1)?.inControlledShutdown);
  t.like(part(h.image, 'a', 0), { leader: 2, isr: [2, 3] });
  t.like(part(h.image, 'a', 1), { leader: 2, isr: [2, 3] });
  const behind = h.ok((img, ctx) => controlledShutdown(img, { brokerId: 1, brokerEpoch: h.epoch(1), currentMetadataOffset: img.offset - 1 }, ctx));
  t.false(behind.shouldShutDown, 'the broker has not yet seen the leadership moves');
  const done = h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 1, brokerEpoch: h.epoch(1), currentMetadataOffset: img.offset, wantFence: false, wantShutDown: true }, ctx));
  t.like(done, { shouldShutDown: true, isFenced: true });
  t.true(h.image.brokers.get(1)?.fenced);
});

test('commands: preferred leader election moves leadership back to the first replica', (t) => {
  const h = cluster(2);
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2]], configs: {} }], validateOnly: false }, ctx));
  const topicId = h.image.topicsByName.get('a')!.topicId;
  const notNeeded = h.ok((img, ctx) => electLeaders(img, { electionType: 'preferred', partitions: [{ topic: 'a', partitionId: 0 }] }, ctx));
  t.like(notNeeded.partitions[0]?.error, { code: 'ELECTION_NOT_NEEDED' });
  h.ok((img, ctx) => fenceBroker(img, 1, ctx));
  t.is(part(h.image, 'a').leader, 2);
  const unavailable = h.ok((img, ctx) => electLeaders(img, { electionType: 'preferred', partitions: null }, ctx));
  t.like(unavailable.partitions[0]?.error, { code: 'PREFERRED_LEADER_NOT_AVAILABLE' });
  h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 1, brokerEpoch: h.epoch(1), currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
  const p = part(h.image, 'a');
  h.ok((img, ctx) => alterPartition(img, { topicId, partitionId: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, brokerId: 2, brokerEpoch: h.epoch(2), newIsr: [1, 2] }, ctx));
  const moved = h.ok((img, ctx) => electLeaders(img, { electionType: 'preferred', partitions: [{ topic: 'a', partitionId: 0 }, { topic: 'nope', partitionId: 0 }] }, ctx));
  t.is(moved.partitions[0]?.error, null);
  t.like(moved.partitions[1]?.error, { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
  t.is(part(h.image, 'a').leader, 1);
});

test('commands: incrementalAlterConfigs sets, deletes and appends with validation per resource', (t) => {
  const h = cluster(1);
  h.ok((img, ctx) => createTopics(img, { topics: [topic('a', 1, 1)], validateOnly: false }, ctx));
  const r = h.ok((img, ctx) => incrementalAlterConfigs(img, {
    resources: [
      { type: 'topic', name: 'a', ops: [{ key: 'retention.ms', op: 'set', value: '5000' }, { key: 'cleanup.policy', op: 'append', value: 'compact' }] },
      { type: 'topic', name: 'ghost', ops: [{ key: 'retention.ms', op: 'set', value: '1' }] },
      { type: 'cluster', name: '', ops: [{ key: 'min.insync.replicas', op: 'set', value: 'two' }] },
    ],
    validateOnly: false,
  }, ctx));
  t.is(r.resources[0]?.error, null);
  t.like(r.resources[1]?.error, { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
  t.like(r.resources[2]?.error, { code: 'INVALID_CONFIG' });
  t.regex(r.resources[2]?.error?.message ?? '', /"two" for config min\.insync\.replicas/);
  t.deepEqual(Object.fromEntries(h.image.configs.get('topic:a') ?? []), { 'retention.ms': '5000', 'cleanup.policy': 'delete,compact' });
  h.ok((img, ctx) => incrementalAlterConfigs(img, { resources: [{ type: 'topic', name: 'a', ops: [{ key: 'retention.ms', op: 'delete' }] }], validateOnly: false }, ctx));
  t.deepEqual(Object.fromEntries(h.image.configs.get('topic:a') ?? []), { 'cleanup.policy': 'delete,compact' });
});

test('commands: producer id blocks never overlap', (t) => {
  const h = cluster(2);
  const a = h.ok((img, ctx) => allocateProducerIds(img, { brokerId: 1, brokerEpoch: h.epoch(1) }, ctx));
  const b = h.ok((img, ctx) => allocateProducerIds(img, { brokerId: 2, brokerEpoch: h.epoch(2) }, ctx));
  t.is(b.firstProducerId, a.firstProducerId + a.count);
  t.is(h.image.nextProducerId, b.firstProducerId + b.count);
  expectError(t, h.run((img, ctx) => allocateProducerIds(img, { brokerId: 1, brokerEpoch: 12345 }, ctx)), 'STALE_BROKER_EPOCH');
});

test('commands: features are validated, and turning ELR off empties every ELR', (t) => {
  const h = cluster(2);
  expectError(t, h.run((img, ctx) => updateFeatures(img, { name: 'eligible.leader.replicas.version', level: 2 }, ctx)), 'INVALID_REQUEST', /level 2/);
  expectError(t, h.run((img, ctx) => updateFeatures(img, { name: 'warp.drive', level: 1 }, ctx)), 'INVALID_REQUEST', /warp\.drive/);
  h.ok((img, ctx) => updateFeatures(img, { name: 'eligible.leader.replicas.version', level: 1 }, ctx));
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2]], configs: { 'min.insync.replicas': '2' } }], validateOnly: false }, ctx));
  h.ok((img, ctx) => fenceBroker(img, 2, ctx));
  t.like(part(h.image, 'a'), { elr: [2] });
  h.ok((img, ctx) => updateFeatures(img, { name: 'eligible.leader.replicas.version', level: 0 }, ctx));
  t.like(part(h.image, 'a'), { isr: [1], elr: [] });
});

test('commands: changing min.insync.replicas empties the ELR (KIP-966)', (t) => {
  const h = cluster(2);
  h.ok((img, ctx) => updateFeatures(img, { name: 'eligible.leader.replicas.version', level: 1 }, ctx));
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2]], configs: { 'min.insync.replicas': '2' } }], validateOnly: false }, ctx));
  h.ok((img, ctx) => fenceBroker(img, 2, ctx));
  t.like(part(h.image, 'a'), { elr: [2] });
  h.ok((img, ctx) => incrementalAlterConfigs(img, { resources: [{ type: 'topic', name: 'a', ops: [{ key: 'min.insync.replicas', op: 'set', value: '1' }] }], validateOnly: false }, ctx));
  t.like(part(h.image, 'a'), { isr: [1], elr: [] });
});

test('commands: turning unclean election on elects a leader for an offline partition', (t) => {
  const h = cluster(2);
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [[1, 2]], configs: {} }], validateOnly: false }, ctx));
  h.ok((img, ctx) => fenceBroker(img, 2, ctx));
  h.ok((img, ctx) => fenceBroker(img, 1, ctx));
  h.ok((img, ctx) => brokerHeartbeat(img, { brokerId: 2, brokerEpoch: h.epoch(2), currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
  t.is(part(h.image, 'a').leader, -1);
  h.ok((img, ctx) => incrementalAlterConfigs(img, { resources: [{ type: 'cluster', name: '', ops: [{ key: 'unclean.leader.election.enable', op: 'set', value: 'true' }] }], validateOnly: false }, ctx));
  t.like(part(h.image, 'a'), { leader: 2, isr: [2] });
});

test('commands: topic names differing only in . and _ collide, and bad broker registrations are refused', (t) => {
  const h = cluster(1);
  h.ok((img, ctx) => createTopics(img, { topics: [topic('a.b', 1, 1)], validateOnly: false }, ctx));
  const r = h.ok((img, ctx) => createTopics(img, { topics: [topic('a_b', 1, 1)], validateOnly: false }, ctx));
  t.like(r.topics[0]?.error, { code: 'INVALID_TOPIC_EXCEPTION' });
  t.regex(r.topics[0]?.error?.message ?? '', /"a_b" collides with "a\.b"/);
  expectError(t, h.run((img, ctx) => registerBroker(img, { brokerId: 8, incarnationId: 'x', rack: '', endpoints: [], previousBrokerEpoch: -1 }, ctx)), 'INVALID_REQUEST', /broker\.rack/);
  expectError(t, h.run((img, ctx) => registerBroker(img, { brokerId: 8, incarnationId: 'x', rack: null, endpoints: [{ name: 'P', host: 'h', port: 70_000 }], previousBrokerEpoch: -1 }, ctx)), 'INVALID_REQUEST', /70000/);
  expectError(t, h.run((img, ctx) => registerBroker(img, { brokerId: -1, incarnationId: 'x', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx)), 'INVALID_REQUEST', /broker id -1/);
});
