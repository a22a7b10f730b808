// Log configuration: Kafka's names and defaults map onto LogConfig, and bad values are refused naming the key.
import test from 'ava';
import { defaultLogConfig, logConfigFromKafka, resolveLogConfig } from '../../src/storage/log-config.js';

test('log-config: defaults are Kafka\'s (1 GiB segments, 7-day retention, unlimited bytes, no forced fsync)', (t) => {
  t.is(defaultLogConfig.segmentBytes, 1024 ** 3);
  t.is(defaultLogConfig.retentionMs, 7 * 24 * 3600_000);
  t.is(defaultLogConfig.segmentMs, 7 * 24 * 3600_000);
  t.is(defaultLogConfig.retentionBytes, Number.POSITIVE_INFINITY);
  t.is(defaultLogConfig.flushIntervalMessages, Number.POSITIVE_INFINITY);
  t.is(defaultLogConfig.cleanupPolicy, 'delete');
});

test('log-config: Kafka property names map onto the log config, with -1 meaning unlimited', (t) => {
  const c = resolveLogConfig(
    logConfigFromKafka({ 'retention.ms': '-1', 'log.retention.bytes': 1000, 'cleanup.policy': 'delete, compact', 'flush.messages': '1', 'segment.bytes': '1048576', 'num.partitions': '3' }),
  );
  t.is(c.retentionMs, Number.POSITIVE_INFINITY);
  t.is(c.retentionBytes, 1000);
  t.is(c.cleanupPolicy, 'compact,delete');
  t.is(c.flushIntervalMessages, 1);
  t.is(c.segmentBytes, 1048576);
  t.is(resolveLogConfig(logConfigFromKafka({ 'log.flush.interval.messages': '9223372036854775807' })).flushIntervalMessages, Number.POSITIVE_INFINITY);
});

test('log-config: bad values are refused with the key named', (t) => {
  t.throws(() => logConfigFromKafka({ 'retention.ms': 'soon' }), { message: /retention\.ms=soon/ });
  t.throws(() => logConfigFromKafka({ 'cleanup.policy': 'shred' }), { message: /cleanup\.policy/ });
  t.throws(() => resolveLogConfig({ segmentBytes: 3 }), { message: /segment\.bytes/ });
  t.throws(() => resolveLogConfig({ maxMessageBytes: 64 * 1024 * 1024 }), { message: /max\.message\.bytes/ });
});
