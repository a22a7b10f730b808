// Specs for config validation and topic names: every rejection names the key, the value and what is allowed.
import test from 'ava';
import { applyRecords, emptyImage } from '../../src/controller/image.js';
import { effectiveTopicConfig, topicConfigDefs, topicMinIsr, topicUncleanElection, validateConfig, validateTopicName } from '../../src/controller/topic-config.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { topicA } from './fixtures.js';

function rejects(t: import('ava').ExecutionContext, fn: () => void, code: string, pattern: RegExp): void {
  const err = t.throws(fn, { instanceOf: RaftlineError });
  t.is(err?.code, code as RaftlineError['code']);
  t.regex(err?.message ?? '', pattern);
}

test('topic-config: every default passes its own validation', (t) => {
  for (const d of topicConfigDefs.values()) t.notThrows(() => validateConfig('topic', d.name, d.defaultValue), d.name);
});

test('topic-config: bad values are INVALID_CONFIG naming key, value and what is allowed', (t) => {
  rejects(t, () => validateConfig('topic', 'retention.ms', 'soon'), 'INVALID_CONFIG', /"soon" for config retention\.ms: expected an integer in \[-1,/);
  rejects(t, () => validateConfig('topic', 'min.insync.replicas', '0'), 'INVALID_CONFIG', /min\.insync\.replicas: expected an integer in \[1,/);
  rejects(t, () => validateConfig('topic', 'segment.bytes', '13'), 'INVALID_CONFIG', /segment\.bytes/);
  rejects(t, () => validateConfig('topic', 'cleanup.policy', 'delete,shred'), 'INVALID_CONFIG', /cleanup\.policy: expected a comma-separated list .*delete, compact/);
  rejects(t, () => validateConfig('topic', 'unclean.leader.election.enable', 'yes'), 'INVALID_CONFIG', /true or false/);
  rejects(t, () => validateConfig('topic', 'compression.type', 'brotli'), 'INVALID_CONFIG', /one of uncompressed, zstd/);
  rejects(t, () => validateConfig('topic', 'message.timestamp.type', 'createtime'), 'INVALID_CONFIG', /CreateTime, LogAppendTime/);
  rejects(t, () => validateConfig('topic', 'no.such.key', '1'), 'INVALID_CONFIG', /unknown topic config "no\.such\.key"/);
  rejects(t, () => validateConfig('topic', 'retention.ms', '1.5'), 'INVALID_CONFIG', /retention\.ms/);
});

test('topic-config: good values pass', (t) => {
  for (const [k, v] of [['cleanup.policy', 'compact,delete'], ['retention.ms', '-1'], ['unclean.leader.election.enable', 'TRUE'], ['compression.type', 'zstd']] as const) {
    t.notThrows(() => validateConfig('topic', k, v));
  }
  t.notThrows(() => validateConfig('cluster', 'log.retention.ms', '1000'));
  t.notThrows(() => validateConfig('broker', 'num.partitions', '3'));
});

test('topic-config: topic names follow Kafka\'s rules', (t) => {
  for (const ok of ['orders', 'a.b_c-D9', 'x'.repeat(249), '...']) t.notThrows(() => validateTopicName(ok));
  rejects(t, () => validateTopicName(''), 'INVALID_TOPIC_EXCEPTION', /empty/);
  rejects(t, () => validateTopicName('.'), 'INVALID_TOPIC_EXCEPTION', /"\."/);
  rejects(t, () => validateTopicName('..'), 'INVALID_TOPIC_EXCEPTION', /"\.\."/);
  rejects(t, () => validateTopicName('x'.repeat(250)), 'INVALID_TOPIC_EXCEPTION', /250 characters/);
  rejects(t, () => validateTopicName('bad name'), 'INVALID_TOPIC_EXCEPTION', /"bad name" may contain only/);
  rejects(t, () => validateTopicName('tøpic'), 'INVALID_TOPIC_EXCEPTION', /tøpic/);
});

test('topic-config: the effective value is topic override, then cluster synonym, then static config, then default', (t) => {
  const img = applyRecords(emptyImage, [{ type: 'topic', version: 0, name: 'orders', topicId: topicA }], 0);
  t.is(topicMinIsr(img, "orders"), 1, 'Kafka default');
  t.is(topicMinIsr(img, 'orders', new Map([['min.insync.replicas', '2']])), 2, 'static');
  const cluster = applyRecords(img, [{ type: 'config', version: 0, resourceType: 'cluster', resourceName: '', name: 'min.insync.replicas', value: '3' }], 1);
  t.is(topicMinIsr(cluster, 'orders', new Map([['min.insync.replicas', '2']])), 3, 'cluster beats static');
  const own = applyRecords(cluster, [{ type: 'config', version: 0, resourceType: 'topic', resourceName: 'orders', name: 'min.insync.replicas', value: '1' }], 2);
  t.is(topicMinIsr(own, 'orders'), 1, 'topic beats cluster');
  t.is(effectiveTopicConfig(own, 'orders', 'retention.ms'), String(7 * 24 * 3_600_000));
  t.false(topicUncleanElection(own, 'orders'));
});
