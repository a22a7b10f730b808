// The Consumer against the fake in-process cluster: poll returns records in offset order from the assigned
// position, seek / seekToBeginning / seekToEnd move it, pause holds a partition back, a leader change is followed,
// and OFFSET_OUT_OF_RANGE resets per auto.offset.reset (or surfaces with none).
import test from 'ava';
import { Consumer, type ConsumerOptions, type ConsumerRecord } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { createWireChannel } from '../../src/client/wire-channel.js';
import { OffsetOutOfRangeError } from '../../src/client/errors.js';
import { createRealNetwork, createRealRandom, realClock } from '../../src/runtime/real/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { startFakeCluster, type FakeCluster } from '../helpers/fake-data-cluster.js';

type Teardown = { teardown(fn: () => unknown): void };

function channel(cluster: FakeCluster) {
  return createWireChannel({ bootstrap: [cluster.addresses[1]!], network: createRealNetwork({ log: silentLogger }), clock: realClock, log: silentLogger, requestTimeoutMs: 5_000 });
}

function consumerFor(t: Teardown, cluster: FakeCluster, options: ConsumerOptions = {}): Consumer {
  const consumer = new Consumer({ fetchMaxWaitMs: 50, retryBackoffMs: 10, ...options }, { channel: channel(cluster), clock: realClock, log: silentLogger });
  t.teardown(() => consumer.close());
  return consumer;
}

async function produce(t: Teardown, cluster: FakeCluster, topic: string, partition: number, values: string[]): Promise<void> {
  const producer = new Producer({ lingerMs: 0 }, { channel: channel(cluster), clock: realClock, random: createRealRandom(), log: silentLogger });
  t.teardown(() => producer.close({ timeoutMs: 1_000 }));
  await Promise.all(values.map((value, i) => producer.send({ topic, partition, value, key: `k${i}` })));
  await producer.close();
}

async function pollUntil(consumer: Consumer, count: number, timeoutMs = 5_000): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) out.push(...(await consumer.poll(200)));
  return out;
}

const values = (records: ConsumerRecord[]): string[] => records.map((r) => r.value!.toString('utf8'));

test('consumer: poll returns the records from the beginning, in offset order, with keys and offsets', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('log', 2);
  await produce(t, cluster, 'log', 1, Array.from({ length: 50 }, (_, i) => `m${i}`));
  const consumer = consumerFor(t, cluster, { autoOffsetReset: 'earliest', maxPollRecords: 7 });
  consumer.assign([{ topic: 'log', partition: 1 }]);
  const first = await consumer.poll(2_000);
  t.true(first.length > 0 && first.length <= 7, `max.poll.records bounds a poll (${first.length})`);
  const records = [...first, ...(await pollUntil(consumer, 50 - first.length))];
  t.deepEqual(records.map((r) => r.offset), Array.from({ length: 50 }, (_, i) => i));
  t.deepEqual(values(records), Array.from({ length: 50 }, (_, i) => `m${i}`));
  t.is(records[3]!.key!.toString(), 'k3');
  t.is(await consumer.position({ topic: 'log', partition: 1 }), 50);
  t.is(consumer.highWatermark({ topic: 'log', partition: 1 }), 50);
  t.deepEqual(await consumer.poll(100), [], 'nothing more: an empty poll after its timeout');
});

test('consumer: latest starts at the end; seek and seekToBeginning move the position', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('seek', 1);
  await produce(t, cluster, 'seek', 0, ['a', 'b', 'c']);
  const consumer = consumerFor(t, cluster);
  const tp = { topic: 'seek', partition: 0 };
  consumer.assign([tp]);
  t.is(await consumer.position(tp), 3, 'auto.offset.reset=latest starts at the high watermark');
  await produce(t, cluster, 'seek', 0, ['d']);
  t.deepEqual(values(await pollUntil(consumer, 1)), ['d']);
  consumer.seek(tp, 1);
  t.deepEqual(values(await pollUntil(consumer, 3)), ['b', 'c', 'd']);
  consumer.seekToBeginning();
  t.deepEqual(values(await pollUntil(consumer, 4)), ['a', 'b', 'c', 'd']);
  consumer.seekToEnd([tp]);
  t.is(await consumer.position(tp), 4);
});

test('consumer: a paused partition returns nothing until resumed; others carry on', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('pp', 2);
  await produce(t, cluster, 'pp', 0, ['p0']);
  await produce(t, cluster, 'pp', 1, ['p1']);
  const consumer = consumerFor(t, cluster, { autoOffsetReset: 'earliest' });
  consumer.assign([{ topic: 'pp', partition: 0 }, { topic: 'pp', partition: 1 }]);
  consumer.pause([{ topic: 'pp', partition: 0 }]);
  t.deepEqual(values(await pollUntil(consumer, 1)), ['p1']);
  t.deepEqual(await consumer.poll(150), []);
  t.deepEqual(consumer.paused(), [{ topic: 'pp', partition: 0 }]);
  consumer.resume([{ topic: 'pp', partition: 0 }]);
  t.deepEqual(values(await pollUntil(consumer, 1)), ['p0']);
});

test('consumer: follows a leader change (NOT_LEADER_OR_FOLLOWER → metadata → the new leader)', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('lead', 1, () => 0);
  await produce(t, cluster, 'lead', 0, ['x', 'y']);
  const consumer = consumerFor(t, cluster, { autoOffsetReset: 'earliest' });
  consumer.assign([{ topic: 'lead', partition: 0 }]);
  t.deepEqual(values(await pollUntil(consumer, 2)), ['x', 'y']);
  cluster.moveLeader('lead', 0, 2);
  await produce(t, cluster, 'lead', 0, ['z']);
  t.deepEqual(values(await pollUntil(consumer, 1)), ['z']);
});

test('consumer: OFFSET_OUT_OF_RANGE resets to earliest, or throws OffsetOutOfRangeError with none', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('range', 1);
  await produce(t, cluster, 'range', 0, ['0', '1', '2', '3']);
  cluster.truncateBefore('range', 0, 2);
  const tp = { topic: 'range', partition: 0 };
  const resetting = consumerFor(t, cluster, { autoOffsetReset: 'earliest' });
  resetting.assign([tp]);
  resetting.seek(tp, 0);
  t.deepEqual(values(await pollUntil(resetting, 2)), ['2', '3']);
  const strict = consumerFor(t, cluster, { autoOffsetReset: 'none' });
  strict.assign([tp]);
  strict.seek(tp, 100);
  const err = await t.throwsAsync(pollUntil(strict, 1));
  t.true(err instanceof OffsetOutOfRangeError, String(err));
  // With none and no position at all, there is nothing to start from either (Kafka's NoOffsetForPartition).
  const unplaced = consumerFor(t, cluster, { autoOffsetReset: 'none' });
  unplaced.assign([tp]);
  await t.throwsAsync(unplaced.position(tp), { instanceOf: OffsetOutOfRangeError });
  await t.throwsAsync(unplaced.poll(100), { instanceOf: OffsetOutOfRangeError });
});

test('consumer: a damaged batch is reported by the poll that reaches it, after the records before it, until a seek passes it', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('crc', 1);
  await produce(t, cluster, 'crc', 0, ['a', 'b']);
  await produce(t, cluster, 'crc', 0, ['c']);
  await produce(t, cluster, 'crc', 0, ['d', 'e']);
  const stored = cluster.topics.get('crc')![0]!.batches;
  t.deepEqual(stored.map((b) => [b.baseOffset, b.lastOffset]), [[0, 1], [2, 2], [3, 4]]);
  // Flip a bit of the middle batch's last byte (inside what its CRC covers).
  const damaged = stored[1]!.bytes;
  damaged[damaged.length - 1]! ^= 0x01;
  const consumer = consumerFor(t, cluster, { autoOffsetReset: 'earliest' });
  consumer.assign([{ topic: 'crc', partition: 0 }]);
  t.deepEqual(values(await pollUntil(consumer, 2)), ['a', 'b'], 'the records before the damaged batch are handed out');
  for (let i = 0; i < 2; i++) {
    const error = await t.throwsAsync(() => consumer.poll(2_000));
    t.regex(error?.message ?? '', /CRC mismatch/, `poll ${i + 1} after them reports the damage`);
  }
  t.is(await consumer.position({ topic: 'crc', partition: 0 }), 2, 'the position stays at the damaged batch');
  consumer.seek({ topic: 'crc', partition: 0 }, 3);
  t.deepEqual(values(await pollUntil(consumer, 2)), ['d', 'e']);
});
