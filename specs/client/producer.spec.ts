// The Producer against a fake in-process cluster (wire servers on 127.0.0.1 with an in-memory log): acks and
// offsets, batching, keyed placement, the three ways to send, retries on NOT_LEADER_OR_FOLLOWER through a metadata
// refresh, idempotent retries written once (and, as a control, duplicated without idempotence), order kept across
// retries with 5 batches in flight, delivery and metadata timeouts, and close.
import test from 'ava';
import { Producer, type ProducerOptions } from '../../src/client/producer.js';
import { createWireChannel } from '../../src/client/wire-channel.js';
import { partitionForKey } from '../../src/client/murmur2.js';
import { ClientClosedError, DeliveryTimeoutError, UnknownTopicError } from '../../src/client/errors.js';
import { createRealNetwork, createRealRandom, realClock } from '../../src/runtime/real/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { startFakeCluster, type FakeCluster } from '../helpers/fake-data-cluster.js';

function producerFor(t: { teardown(fn: () => unknown): void }, cluster: FakeCluster, options: ProducerOptions = {}): Producer {
  const channel = createWireChannel({ bootstrap: [cluster.addresses[0]!], network: createRealNetwork({ log: silentLogger }), clock: realClock, log: silentLogger, requestTimeoutMs: 5_000 });
  const producer = new Producer({ retryBackoffMs: 10, retryBackoffMaxMs: 50, ...options }, { channel, clock: realClock, random: createRealRandom(), log: silentLogger });
  t.teardown(() => producer.close({ timeoutMs: 1_000 }));
  return producer;
}

test('producer: await send resolves with the record\'s topic, partition and offset (acks=all, idempotent)', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('orders', 3);
  const producer = producerFor(t, cluster);
  const first = await producer.send({ topic: 'orders', value: 'a', partition: 1 });
  const second = await producer.send({ topic: 'orders', value: 'b', partition: 1 });
  t.like(first, { topic: 'orders', partition: 1, offset: 0 });
  t.like(second, { topic: 'orders', partition: 1, offset: 1 });
  t.true(producer.producerId >= 1000, 'an idempotent producer asked for a producer id');
  t.deepEqual(cluster.values('orders', 1), ['a', 'b']);
});

test('producer: fire-and-forget sends are batched per partition and flush() waits for all of them', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('events', 2);
  const producer = producerFor(t, cluster, { lingerMs: 50 });
  await producer.send({ topic: 'events', value: 'warm-up', partition: 0 });
  const before = cluster.requests['data.produce'] ?? 0;
  for (let i = 0; i < 200; i++) void producer.send({ topic: 'events', value: `v${i}`, partition: i % 2 });
  await producer.flush();
  const requests = (cluster.requests['data.produce'] ?? 0) - before;
  t.true(requests <= 4, `200 records went in ${requests} produce requests`);
  t.deepEqual(cluster.values('events', 1), Array.from({ length: 100 }, (_, i) => `v${2 * i + 1}`));
  t.is(producer.stats.acknowledged, 201);
});

test('producer: keyed records land on murmur2(key) % partitions; null keys stick to one partition per batch', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('keyed', 5);
  const producer = producerFor(t, cluster, { lingerMs: 0 });
  const keys = ['foobar', 'abc', '21', 'kafka', 'user-42'];
  const results = await Promise.all(keys.map((key) => producer.send({ topic: 'keyed', key, value: key })));
  results.forEach((r, i) => t.is(r.partition, partitionForKey(Buffer.from(keys[i]!), 5), keys[i]));
  const sticky = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'keyed', value: `n${i}` })));
  t.is(new Set(sticky.map((r) => r.partition)).size, 1, 'records of one turn share the sticky partition');
});

test('producer: a callback gets (null, metadata) on success and (error, null) on failure', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('cb', 1);
  const producer = producerFor(t, cluster, { retries: 1, idempotence: false, acks: 1 });
  cluster.failProduce('cb', 0, [{ code: 'INVALID_TIMESTAMP' }]);
  const outcomes = await new Promise<Array<[Error | null, number | null]>>((resolve) => {
    const got: Array<[Error | null, number | null]> = [];
    const cb = (err: Error | null, meta: { offset: number } | null): void => {
      got.push([err, meta?.offset ?? null]);
      if (got.length === 2) resolve(got);
    };
    producer.send({ topic: 'cb', value: 'refused' }, cb);
    void producer.flush().then(() => producer.send({ topic: 'cb', value: 'kept' }, cb));
  });
  t.true(outcomes[0]![0] instanceof RaftlineError && (outcomes[0]![0] as RaftlineError).code === 'INVALID_TIMESTAMP');
  t.deepEqual(outcomes[1], [null, 0]);
});

test('producer: acks=0 sends one way; the record is written and its offset is unknown (-1)', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('fire', 1);
  const producer = producerFor(t, cluster, { acks: 0 });
  const meta = await producer.send({ topic: 'fire', value: 'x' });
  t.is(meta.offset, -1);
  for (let i = 0; i < 100 && cluster.values('fire', 0).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(cluster.values('fire', 0), ['x']);
});

test('producer: NOT_LEADER_OR_FOLLOWER sends it to metadata, then to the new leader, and the record is written once', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('moving', 1, () => 0);
  const producer = producerFor(t, cluster);
  t.is((await producer.send({ topic: 'moving', value: 'before' })).offset, 0);
  const metadataBefore = cluster.requests['data.metadata'] ?? 0;
  cluster.moveLeader('moving', 0, 2);
  const after = await producer.send({ topic: 'moving', value: 'after' });
  t.is(after.offset, 1);
  t.true(producer.stats.retries >= 1, 'the first attempt went to the old leader');
  t.true((cluster.requests['data.metadata'] ?? 0) > metadataBefore, 'metadata was refreshed');
  t.deepEqual(cluster.values('moving', 0), ['before', 'after']);
});

test('producer: an acknowledgement lost after the append is retried and, with idempotence, not written twice', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('once', 1);
  const producer = producerFor(t, cluster);
  cluster.failProduce('once', 0, [{ code: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', afterAppend: true }, { code: 'REQUEST_TIMED_OUT', afterAppend: true }]);
  const meta = await producer.send({ topic: 'once', value: 'only-once' });
  t.is(meta.offset, 0, 'the duplicate is answered with the original offset');
  t.deepEqual(cluster.values('once', 0), ['only-once']);
  t.is(producer.stats.retries, 2);
});

test('producer: without idempotence the same lost acknowledgement duplicates the record (the control case)', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('twice', 1);
  const producer = producerFor(t, cluster, { idempotence: false });
  cluster.failProduce('twice', 0, [{ code: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', afterAppend: true }]);
  await producer.send({ topic: 'twice', value: 'dup' });
  t.deepEqual(cluster.values('twice', 0), ['dup', 'dup']);
});

test('producer: with 5 batches in flight a failed first batch is resent first, and the log keeps the send order', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('ordered', 1);
  // One record per batch: every send is its own batch and its own request.
  const producer = producerFor(t, cluster, { batchSizeBytes: 1, lingerMs: 0 });
  await producer.send({ topic: 'ordered', value: 'w' });
  cluster.failProduce('ordered', 0, [{ code: 'NOT_ENOUGH_REPLICAS' }]);
  const sends = Array.from({ length: 30 }, (_, i) => producer.send({ topic: 'ordered', value: `r${i}` }));
  const metas = await Promise.all(sends);
  t.deepEqual(cluster.values('ordered', 0), ['w', ...Array.from({ length: 30 }, (_, i) => `r${i}`)]);
  t.deepEqual(metas.map((m) => m.offset), Array.from({ length: 30 }, (_, i) => i + 1));
  // Batches behind the failed one were in flight: the broker refused them as out of order, and they were resent too.
  t.log(`retries: ${producer.stats.retries}`);
  t.true(producer.stats.retries >= 2);
});

test('producer: a partition without a reachable leader fails its records after delivery.timeout.ms', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('stuck', 1, () => -1);
  const producer = producerFor(t, cluster, { deliveryTimeoutMs: 300, requestTimeoutMs: 200, lingerMs: 0 });
  const started = Date.now();
  const err = await t.throwsAsync(producer.send({ topic: 'stuck', value: 'lost' }));
  t.true(err instanceof DeliveryTimeoutError, String(err));
  t.true(Date.now() - started >= 290);
});

test('producer: a topic the cluster does not know fails after max.block.ms with UnknownTopicError', async (t) => {
  const cluster = await startFakeCluster(t);
  const producer = producerFor(t, cluster, { maxBlockMs: 200 });
  const err = await t.throwsAsync(producer.send({ topic: 'nope', value: 'x' }));
  t.true(err instanceof UnknownTopicError, String(err));
});

test('producer: close() sends what is queued, then refuses new records', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('closing', 1);
  const producer = producerFor(t, cluster, { lingerMs: 10_000 });
  const pending = producer.send({ topic: 'closing', value: 'last words' });
  await producer.close();
  t.is((await pending).offset, 0);
  t.is(producer.lifecycle, 'closed');
  const err = await t.throwsAsync(producer.send({ topic: 'closing', value: 'too late' }));
  t.true(err instanceof ClientClosedError);
});
