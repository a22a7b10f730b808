// Specs for the metadata image: replaying records builds the state they describe, and replay refuses records that
// would break an invariant (those are controller bugs, so they throw).
import test from 'ava';
import { applyRecord, applyRecords, checkImage, emptyImage, isElrEnabled, MetadataDelta } from '../../src/controller/image.js';
import { ControllerInvariantError } from '../../src/controller/invariant.js';
import { MetadataRecord, newTopicId, type PartitionRecord } from '../../src/controller/records.js';
import { register, seededRandom, topicA, unfence } from './fixtures.js';

function partition(fields: Partial<PartitionRecord> = {}): PartitionRecord {
  return { type: 'partition', version: 0, topicId: topicA, partitionId: 0, replicas: [1, 2, 3], isr: [1, 2, 3], elr: [], lastKnownElr: [], leader: 1, leaderEpoch: 0, partitionEpoch: 0, ...fields };
}

const threeBrokers = applyRecords(emptyImage, [register(1, 0), register(2, 1), register(3, 2), unfence(1, 0), unfence(2, 1), unfence(3, 2)], 0);
const withTopic = applyRecords(threeBrokers, [{ type: 'topic', version: 0, name: 'orders', topicId: topicA }, partition()], 6);

test('image: a registration makes a fenced broker whose epoch is the record offset', (t) => {
  const img = applyRecord(emptyImage, register(7, 41, 'rack-a'), 41);
  const b = img.brokers.get(7);
  t.is(b?.brokerEpoch, 41);
  t.true(b?.fenced);
  t.is(b?.rack, 'rack-a');
  t.is(img.offset, 41);
});

test('image: a registration whose epoch is not its offset is refused', (t) => {
  t.throws(() => applyRecord(emptyImage, register(7, 40), 41), { instanceOf: ControllerInvariantError });
});

test('image: unfence and fence need the current broker epoch', (t) => {
  t.false(threeBrokers.brokers.get(2)?.fenced);
  t.throws(() => applyRecord(threeBrokers, { type: 'fence-broker', version: 0, brokerId: 2, brokerEpoch: 0 }, 10), { instanceOf: ControllerInvariantError });
  const fenced = applyRecord(threeBrokers, { type: 'fence-broker', version: 0, brokerId: 2, brokerEpoch: 1 }, 10);
  t.true(fenced.brokers.get(2)?.fenced);
  t.false(threeBrokers.brokers.get(2)?.fenced, 'the base image is unchanged');
});

test('image: topics are indexed by name and id, partitions in order', (t) => {
  const topic = withTopic.topicsByName.get('orders');
  t.is(withTopic.topicsById.get(topicA), topic);
  t.deepEqual(topic?.partitions[0]?.isr, [1, 2, 3]);
  t.throws(() => applyRecord(withTopic, partition({ partitionId: 2 }), 20), { instanceOf: ControllerInvariantError });
  checkImage(withTopic);
});

test('image: a partition change bumps the partition epoch, and the leader epoch only on an election', (t) => {
  const shrunk = applyRecord(withTopic, { type: 'partition-change', version: 0, topicId: topicA, partitionId: 0, isr: [1, 2], unclean: false }, 8);
  t.like(shrunk.topicsById.get(topicA)?.partitions[0], { isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 1 });
  const elected = applyRecord(shrunk, { type: 'partition-change', version: 0, topicId: topicA, partitionId: 0, leader: 2, unclean: false }, 9);
  t.like(elected.topicsById.get(topicA)?.partitions[0], { leader: 2, leaderEpoch: 1, partitionEpoch: 2 });
});

test('image: a change that puts the leader outside the ISR, or overlaps ISR and ELR, is refused', (t) => {
  t.throws(() => applyRecord(withTopic, { type: 'partition-change', version: 0, topicId: topicA, partitionId: 0, isr: [2, 3], unclean: false }, 8), { message: /leader 1 not in ISR/ });
  t.throws(() => applyRecord(withTopic, { type: 'partition-change', version: 0, topicId: topicA, partitionId: 0, elr: [3], unclean: false }, 8), { message: /overlap/ });
  t.throws(() => applyRecord(withTopic, { type: 'partition-change', version: 0, topicId: topicA, partitionId: 0, isr: [1, 4], unclean: false }, 8), { message: /not a set of replicas/ });
});

test('image: an unclean flag is only accepted on a leader from outside the ISR and ELR', (t) => {
  const shrunk = applyRecord(withTopic, { type: 'partition-change', version: 0, topicId: topicA, partitionId: 0, isr: [1], unclean: false }, 8);
  t.throws(() => applyRecord(shrunk, { type: 'partition-change', version: 0, topicId: topicA, partitionId: 0, leader: 1, unclean: true }, 9), { instanceOf: ControllerInvariantError });
  const unclean = applyRecord(shrunk, { type: 'partition-change', version: 0, topicId: topicA, partitionId: 0, leader: 3, isr: [3], unclean: true }, 9);
  t.like(unclean.topicsById.get(topicA)?.partitions[0], { leader: 3, isr: [3], leaderEpoch: 1 });
});

test('image: removing a topic drops both indexes and its configs', (t) => {
  const configured = applyRecord(withTopic, { type: 'config', version: 0, resourceType: 'topic', resourceName: 'orders', name: 'retention.ms', value: '1000' }, 8);
  t.is(configured.configs.get('topic:orders')?.get('retention.ms'), '1000');
  const removed = applyRecord(configured, { type: 'remove-topic', version: 0, topicId: topicA }, 9);
  t.false(removed.topicsByName.has('orders'));
  t.false(removed.topicsById.has(topicA));
  t.false(removed.configs.has('topic:orders'));
  checkImage(removed);
});

test('image: a topic created and removed in one batch leaves no trace', (t) => {
  const img = applyRecords(threeBrokers, [{ type: 'topic', version: 0, name: 'tmp', topicId: topicA }, partition(), { type: 'remove-topic', version: 0, topicId: topicA }], 6);
  t.is(img.topicsByName.size, 0);
  t.is(img.topicsById.size, 0);
});

test('image: feature levels switch ELR on and off; producer id blocks only move forward', (t) => {
  const on = applyRecord(threeBrokers, { type: 'feature-level', version: 0, name: 'eligible.leader.replicas.version', level: 1 }, 6);
  t.true(isElrEnabled(on));
  t.false(isElrEnabled(applyRecord(on, { type: 'feature-level', version: 0, name: 'eligible.leader.replicas.version', level: 0 }, 7)));
  const ids = applyRecord(threeBrokers, { type: 'producer-ids', version: 0, brokerId: 1, brokerEpoch: 0, nextProducerId: 1000 }, 6);
  t.is(ids.nextProducerId, 1000);
  t.throws(() => applyRecord(ids, { type: 'producer-ids', version: 0, brokerId: 1, brokerEpoch: 0, nextProducerId: 1000 }, 7), { instanceOf: ControllerInvariantError });
});

test('image: offsets must strictly increase', (t) => {
  t.throws(() => new MetadataDelta(threeBrokers).replay({ type: 'feature-level', version: 0, name: 'x', level: 1 }, 5), { message: /does not follow/ });
});

test('records: the schema accepts every record kind and rejects a bad topic id', (t) => {
  t.true(MetadataRecord.safeParse(partition()).success);
  t.false(MetadataRecord.safeParse({ ...partition(), topicId: 'short' }).success);
  t.false(MetadataRecord.safeParse({ ...partition(), type: 'nope' }).success);
});

test('records: topic ids are 22 base64url characters from the Random port, reproducible by seed', (t) => {
  const a = newTopicId(seededRandom(1));
  t.regex(a, /^[A-Za-z0-9_-]{22}$/);
  t.is(a, newTopicId(seededRandom(1)));
  t.not(a, newTopicId(seededRandom(2)));
});
