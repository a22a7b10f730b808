// Per-topic configs on the brokers: a topic's retention.ms, segment.bytes, max.message.bytes and cleanup.policy
// overrides (or the cluster's dynamic values) shape its partition logs on every replica when they open, and follow an
// alter-configs while they are open; deleting an override falls back to the node's setting; min.insync.replicas is
// read per request, so a change takes effect on the next acks=all produce.
import test from 'ava';
import { incrementalAlterConfigs } from '../../src/controller/commands.js';
import { maxMessageBytesDefault, segmentBytesDefault, segmentBytesMin } from '../../src/limits.js';
import { topicLogConfig } from '../../src/replication/topic-log-config.js';
import { ReplicationCluster, batch } from './harness.js';

type Op = { key: string; op: 'set' | 'delete'; value?: string };

function alter(c: ReplicationCluster, type: 'topic' | 'cluster', name: string, ops: Op[]): void {
  const r = c.command((img, ctx) => incrementalAlterConfigs(img, { resources: [{ type, name, ops }], validateOnly: false }, ctx));
  if (r.resources[0]?.error !== null) throw new Error(`alter-configs refused: ${JSON.stringify(r.resources[0]?.error)}`);
}

test('topic log config: a topic\'s overrides shape its logs on every replica from the start', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('t', [[1, 2, 3]], { 'segment.bytes': String(segmentBytesMin), 'retention.ms': '60000', 'max.message.bytes': '300', 'cleanup.policy': 'delete,compact', 'preallocate.bytes': '0' });
  await c.createTopic('plain', [[1, 2, 3]]);
  for (const id of [1, 2, 3]) {
    t.like(c.manager(id).replica('t', 0)!.partitionLog.config, { segmentBytes: segmentBytesMin, retentionMs: 60_000, maxMessageBytes: 300, cleanupPolicy: 'compact,delete', preallocateBytes: 0 }, `broker ${id}`);
    t.like(c.manager(id).replica('plain', 0)!.partitionLog.config, { segmentBytes: segmentBytesDefault, cleanupPolicy: 'delete' }, `broker ${id}: no override, the node's settings`);
  }
  const big = batch(['x'.repeat(400)]);
  const refused = await c.produce(1, 't', big, -1);
  t.regex(refused.error?.code ?? '', /TOO_LARGE/, 'a batch over the topic\'s max.message.bytes is refused');
  t.is((await c.produce(1, 'plain', big, -1)).error, null, 'another topic keeps the default limit');
  await c.close();
});

test('topic log config: alter-configs reconfigures open logs, a cluster value reaches topics without their own, and deleting falls back', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('t', [[1, 2, 3]], { 'max.message.bytes': '300' });
  const big = batch(['y'.repeat(400)]);
  t.regex((await c.produce(1, 't', big, -1)).error?.code ?? '', /TOO_LARGE/);
  alter(c, 'topic', 't', [{ key: 'max.message.bytes', op: 'set', value: '100000' }, { key: 'retention.ms', op: 'set', value: '-1' }]);
  await c.run(50);
  for (const id of [1, 2, 3]) t.like(c.manager(id).replica('t', 0)!.partitionLog.config, { maxMessageBytes: 100_000, retentionMs: Number.POSITIVE_INFINITY }, `broker ${id}`);
  t.is((await c.produce(1, 't', big, -1)).error, null, 'the raised limit holds at once');

  alter(c, 'cluster', '', [{ key: 'log.segment.bytes', op: 'set', value: String(segmentBytesMin * 2) }]);
  alter(c, 'topic', 't', [{ key: 'max.message.bytes', op: 'delete' }, { key: 'retention.ms', op: 'delete' }]);
  await c.run(50);
  const after = c.manager(2).replica('t', 0)!.partitionLog.config;
  t.is(after.segmentBytes, segmentBytesMin * 2, 'the cluster-wide log.segment.bytes reaches the topic');
  t.is(after.maxMessageBytes, maxMessageBytesDefault, 'back to the node default');
  t.not(after.retentionMs, Number.POSITIVE_INFINITY, 'the deleted retention override is gone');
  await c.close();
});

test('topic log config: min.insync.replicas raised on a live topic refuses the next acks=all produce', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('t', [[1, 2]]);
  t.is((await c.produce(1, 't', batch(['a']), -1)).error, null);
  alter(c, 'topic', 't', [{ key: 'min.insync.replicas', op: 'set', value: '3' }]);
  await c.run(20);
  t.is((await c.produce(1, 't', batch(['b']), -1)).error?.code, 'NOT_ENOUGH_REPLICAS');
  alter(c, 'topic', 't', [{ key: 'min.insync.replicas', op: 'delete' }]);
  await c.run(20);
  t.is((await c.produce(1, 't', batch(['c']), -1)).error, null);
  await c.close();
});

test('topic log config: without a dynamic value the node\'s base settings stand, and accepted values are kept inside the log\'s caps', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('t', [[1]], { 'max.message.bytes': '0' });
  const base = { segmentBytes: segmentBytesMin * 3, retentionMs: 1_000 };
  const config = topicLogConfig(c.core.image, 't', base);
  t.like(config, base, 'no override of these: the node\'s values');
  t.is(config.maxMessageBytes, 61, 'Kafka allows 0; the log\'s floor is one batch header');
  t.deepEqual(topicLogConfig(c.core.image, 'absent', base), base);
  await c.close();
});
