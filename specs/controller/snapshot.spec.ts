// Specs for image snapshots: an exact round trip, and corrupt snapshots refused.
import test from 'ava';
import { ZodError } from 'zod';
import { createTopics, incrementalAlterConfigs, updateFeatures, allocateProducerIds } from '../../src/controller/commands.js';
import { ControllerInvariantError } from '../../src/controller/invariant.js';
import { fromSnapshot, toSnapshot } from '../../src/controller/snapshot.js';
import { Harness } from './fixtures.js';

function busyCluster(): Harness {
  const h = new Harness(7);
  for (let id = 1; id <= 4; id++) h.addBroker(id, `r${id % 2}`);
  h.ok((img, ctx) => updateFeatures(img, { name: 'eligible.leader.replicas.version', level: 1 }, ctx));
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: 5, replicationFactor: 3, configs: { 'retention.ms': '60000' } }, { name: 'b', numPartitions: 2, replicationFactor: 2, configs: {} }], validateOnly: false }, ctx));
  h.ok((img, ctx) => incrementalAlterConfigs(img, { resources: [{ type: 'cluster', name: '', ops: [{ key: 'min.insync.replicas', op: 'set', value: '2' }] }], validateOnly: false }, ctx));
  h.ok((img, ctx) => allocateProducerIds(img, { brokerId: 1, brokerEpoch: h.epoch(1) }, ctx));
  return h;
}

test('snapshot: an image survives the round trip through plain data (and CBOR/JSON-safe values)', (t) => {
  const h = busyCluster();
  const data = JSON.parse(JSON.stringify(toSnapshot(h.image))) as unknown;
  const back = fromSnapshot(data);
  t.deepEqual(toSnapshot(back), toSnapshot(h.image));
  t.deepEqual(back.topicsByName.get('a'), h.image.topicsByName.get('a'));
  t.is(back.nextProducerId, h.image.nextProducerId);
  t.is(back.offset, h.image.offset);
});

test('snapshot: a bad shape is a ZodError, a broken invariant a ControllerInvariantError', (t) => {
  const s = toSnapshot(busyCluster().image);
  t.throws(() => fromSnapshot({ ...s, version: 9 }), { instanceOf: ZodError });
  const leaderOutsideIsr = { ...s, topics: s.topics.map((tp) => ({ ...tp, partitions: tp.partitions.map((p) => ({ ...p, isr: p.isr.filter((r) => r !== p.leader) })) })) };
  t.throws(() => fromSnapshot(leaderOutsideIsr), { instanceOf: ControllerInvariantError });
  t.throws(() => fromSnapshot({ ...s, brokers: [...s.brokers, s.brokers[0]] }), { instanceOf: ControllerInvariantError });
});
