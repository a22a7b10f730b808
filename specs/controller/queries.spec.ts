// Specs for the read-only queries: DescribeCluster, topic descriptions and DescribeConfigs with sources.
import test from 'ava';
import { createTopics, fenceBroker, incrementalAlterConfigs } from '../../src/controller/commands.js';
import { describeCluster, describeConfigs, describeTopics } from '../../src/controller/queries.js';
import { Harness } from './fixtures.js';

function setup(): Harness {
  const h = new Harness(3);
  h.addBroker(1, 'east');
  h.addBroker(2, 'west');
  h.ok((img, ctx) => createTopics(img, { topics: [{ name: 'a', numPartitions: 2, replicationFactor: 2, configs: { 'retention.ms': '1000' } }], validateOnly: false }, ctx));
  return h;
}

test('queries: describeCluster lists live brokers, and fenced ones only when asked', (t) => {
  const h = setup();
  h.ok((img, ctx) => fenceBroker(img, 2, ctx));
  t.deepEqual(describeCluster(h.image).map((b) => b.brokerId), [1]);
  t.deepEqual(describeCluster(h.image, true).map((b) => [b.brokerId, b.fenced, b.rack]), [[1, false, 'east'], [2, true, 'west']]);
});

test('queries: describeTopics gives partition state, and UNKNOWN_TOPIC_OR_PARTITION for a missing topic', (t) => {
  const h = setup();
  const [a, ghost] = describeTopics(h.image, ['a', 'ghost']);
  t.is(a?.partitions.length, 2);
  t.is(a?.partitions[1]?.partitionId, 1);
  t.like(ghost?.error, { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
  t.deepEqual(describeTopics(h.image, null).map((x) => x.name), ['a']);
});

test('queries: describeConfigs reports each effective value and where it came from', (t) => {
  const h = setup();
  h.ok((img, ctx) => incrementalAlterConfigs(img, { resources: [{ type: 'cluster', name: '', ops: [{ key: 'log.retention.bytes', op: 'set', value: '4096' }] }], validateOnly: false }, ctx));
  const { error, configs } = describeConfigs(h.image, { type: 'topic', name: 'a' }, new Map([['compression.type', 'zstd']]));
  t.is(error, null);
  const byName = new Map(configs.map((c) => [c.name, c]));
  t.like(byName.get('retention.ms'), { value: '1000', source: 'topic' });
  t.like(byName.get('retention.bytes'), { value: '4096', source: 'cluster' });
  t.like(byName.get('compression.type'), { value: 'zstd', source: 'static' });
  t.like(byName.get('cleanup.policy'), { value: 'delete', source: 'default' });
  t.like(describeConfigs(h.image, { type: 'topic', name: 'ghost' }).error, { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
});
