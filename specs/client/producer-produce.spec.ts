// produce(), the send path without a promise per record: it delivers with or without a callback, reports a failure
// to the callback or (with none) counts and logs it without an unhandled rejection, keeps each partition's callbacks
// in send order (across batches and a retry), and flush() waits exactly for what was sent before it. Most specs run
// the real Producer on the runtime ports (a manual clock, a seeded Random, an in-memory channel whose produce answers
// the spec releases one request at a time); the ordering under a retry uses the fake cluster on 127.0.0.1.
import test from 'ava';
import { Producer, type ProducerOptions, type RecordMetadata } from '../../src/client/producer.js';
import type { BrokerNode, ClientChannel, ClusterMetadata, ProduceCall, ProducePartitionResult } from '../../src/client/channel.js';
import { ClientClosedError } from '../../src/client/errors.js';
import { createWireChannel } from '../../src/client/wire-channel.js';
import { createRealNetwork, createRealRandom, realClock } from '../../src/runtime/real/index.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import { silentLogger, type LogFields, type Logger } from '../../src/runtime/logger.js';
import { RaftlineError, type ErrorCode } from '../../src/wire/errors.js';
import { decodeRecords, readBatchHeader } from '../../src/storage/record-batch.js';
import { createManualClock, type ManualClock } from '../helpers/manual-clock.js';
import { startFakeCluster } from '../helpers/fake-data-cluster.js';

/** A produce request the channel holds until the spec answers it (in any order it likes). */
interface HeldRequest {
  partitions: Array<{ partition: number; values: string[] }>;
  answer(code?: ErrorCode): void;
}

/**
 * One broker leading every partition of topic `t`. Each produce call waits in `held` until the spec answers it; an
 * answer without a code appends the batches (offsets per partition), with a code refuses every batch of the call.
 */
function heldChannel(partitions: number) {
  const held: HeldRequest[] = [];
  const logs = new Map<number, string[]>();
  const node: BrokerNode = { nodeId: 0, address: 'memory:1' };
  const meta: ClusterMetadata = {
    brokers: new Map([[0, node]]),
    topics: new Map([
      ['t', { name: 't', error: null, partitions: Array.from({ length: partitions }, (_, p) => ({ partition: p, leader: 0, leaderEpoch: 0, replicas: [0], isr: [0] })) }],
    ]),
  };
  const channel: ClientChannel = {
    metadata: async () => meta,
    initProducerId: async () => ({ producerId: 7, producerEpoch: 0 }),
    produce: (_node, call: ProduceCall) =>
      new Promise<ProducePartitionResult[]>((resolve) => {
        const batches = call.partitions.map((p) => ({ p, count: readBatchHeader(p.records).recordCount, values: decodeRecords(p.records).map((r) => r.value!.toString()) }));
        held.push({
          partitions: batches.map((b) => ({ partition: b.p.partition, values: b.values })),
          answer: (code) =>
            resolve(
              batches.map(({ p, count, values }) => {
                if (code !== undefined) return { topic: p.topic, partition: p.partition, error: { code, message: code }, baseOffset: -1 };
                const log = logs.get(p.partition) ?? [];
                logs.set(p.partition, log);
                const base = log.length;
                log.push(...values);
                if (values.length !== count) throw new Error('spec channel: header and records disagree');
                return { topic: p.topic, partition: p.partition, error: null, baseOffset: base };
              }),
            ),
        });
      }),
    fetch: async () => [],
    listOffsets: async () => [],
    close: () => {},
  };
  /** Answers the oldest held request. */
  const answerNext = (code?: ErrorCode): HeldRequest => {
    const next = held.shift();
    if (next === undefined) throw new Error('spec channel: no produce request is held');
    next.answer(code);
    return next;
  };
  return { channel, held, logs, answerNext };
}

/** Lets promise reactions and the producer's microtask-driven sender run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** A Logger that keeps its warn lines (the fire-and-forget failure log). */
function warnRecorder(): { log: Logger; warns: Array<{ fields: LogFields; message: string }> } {
  const warns: Array<{ fields: LogFields; message: string }> = [];
  const log: Logger = { ...silentLogger, warn: (fields, message) => warns.push({ fields, message }), child: () => log };
  return { log, warns };
}

async function readyProducer(options: ProducerOptions, partitions = 2, log: Logger = silentLogger): Promise<{ producer: Producer; clock: ManualClock; mem: ReturnType<typeof heldChannel> }> {
  const clock = createManualClock();
  const mem = heldChannel(partitions);
  const producer = new Producer(options, { channel: mem.channel, clock, random: createSeededRandom(3), log });
  await settle();
  if (producer.lifecycle !== 'ready') throw new Error(`spec: producer is ${producer.lifecycle}`);
  return { producer, clock, mem };
}

type Outcome = [error: Error | null, metadata: RecordMetadata | null];

test('produce: a callback gets (null, metadata) with each record\'s offset; a record without a callback is written all the same', async (t) => {
  const { producer, mem } = await readyProducer({ lingerMs: 0 });
  const outcomes: Outcome[] = [];
  const record = { topic: 't', value: 'a', partition: 1 };
  producer.produce(record, (err, meta) => outcomes.push([err, meta]));
  // The record object is not kept: reusing it for the next call does not change the first record.
  record.value = 'b';
  producer.produce(record);
  producer.produce({ topic: 't', value: 'c', partition: 1 }, (err, meta) => outcomes.push([err, meta]));
  await settle();
  t.is(mem.held.length, 1, 'the three records went in one request');
  mem.answerNext();
  await settle();
  t.deepEqual(mem.logs.get(1), ['a', 'b', 'c']);
  t.deepEqual(outcomes.map(([err]) => err), [null, null]);
  t.like(outcomes[0]![1], { topic: 't', partition: 1, offset: 0 });
  t.like(outcomes[1]![1], { topic: 't', partition: 1, offset: 2 });
  t.is(outcomes[0]![1]!.timestamp, createManualClock().now(), 'the create time is the clock\'s now');
  t.like(producer.stats, { acknowledged: 3, failed: 0, unobservedFailed: 0 });
});

test('produce: a failure reaches the callback and is counted; without a callback it is counted, logged once per interval, and never an unhandled rejection', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => process.off('unhandledRejection', onUnhandled));
  const { log, warns } = warnRecorder();
  // Without idempotence a refused batch just fails (no epoch bump), so the spec sees the broker's error as it is.
  const { producer, mem } = await readyProducer({ lingerMs: 0, acks: 1, retries: 0 }, 1, log);
  const outcomes: Outcome[] = [];
  producer.produce({ topic: 't', value: 'seen' }, (err, meta) => outcomes.push([err, meta]));
  for (let i = 0; i < 5; i++) producer.produce({ topic: 't', value: `unseen${i}` });
  // A send() nobody awaits fails the same way without an unhandled rejection.
  void producer.send({ topic: 't', value: 'ignored promise' });
  await settle();
  mem.answerNext('INVALID_TIMESTAMP');
  await settle();
  // Give Node's unhandled-rejection check (after the microtask queue drains) a turn.
  await new Promise<void>((resolve) => setImmediate(resolve));
  t.is(outcomes.length, 1);
  t.true(outcomes[0]![0] instanceof RaftlineError && (outcomes[0]![0] as RaftlineError).code === 'INVALID_TIMESTAMP', String(outcomes[0]![0]));
  t.is(outcomes[0]![1], null);
  t.like(producer.stats, { acknowledged: 0, failed: 7, unobservedFailed: 5 });
  t.is(warns.length, 1, 'five unobserved failures within the interval make one warn line');
  t.true(warns[0]!.fields['err'] instanceof RaftlineError);
  t.deepEqual(unhandled, []);
  t.deepEqual(mem.logs.get(0), undefined, 'nothing was written');
});

test('produce: a record refused before it is queued (closed producer) reaches its callback; without one it is counted, and produce() never throws', async (t) => {
  const { producer } = await readyProducer({ lingerMs: 0 });
  await producer.close();
  const outcomes: Outcome[] = [];
  t.notThrows(() => producer.produce({ topic: 't', value: 'late' }, (err, meta) => outcomes.push([err, meta])));
  t.notThrows(() => producer.produce({ topic: 't', value: 'late, unseen' }));
  t.notThrows(() => producer.produce({ topic: '', value: 'no topic' }));
  t.is(outcomes.length, 1, 'the callback ran at once');
  t.true(outcomes[0]![0] instanceof ClientClosedError);
  t.like(producer.stats, { failed: 3, unobservedFailed: 2 });
});

test('produce: flush() waits for the produce()d records and send()s made before it, not for those made after', async (t) => {
  const { producer, mem } = await readyProducer({ lingerMs: 1_000 });
  const fates: string[] = [];
  producer.produce({ topic: 't', value: 'a', partition: 0 }, () => fates.push('a'));
  void producer.send({ topic: 't', value: 'b', partition: 1 }).then(() => fates.push('b'));
  let firstFlushed = false;
  const first = producer.flush().then(() => {
    firstFlushed = true;
  });
  await settle();
  t.is(mem.held.length, 1, 'flush sent a and b at once, without waiting linger.ms');
  // A record produced after the first flush was called: it goes in a request of its own.
  producer.produce({ topic: 't', value: 'c', partition: 0 }, () => fates.push('c'));
  let secondFlushed = false;
  const second = producer.flush().then(() => {
    secondFlushed = true;
  });
  await settle();
  t.is(mem.held.length, 2);
  t.false(firstFlushed);
  mem.answerNext();
  await first;
  await settle();
  t.deepEqual(fates, ['a', 'b']);
  t.true(firstFlushed, 'the first flush resolved once a and b had their fate');
  t.false(secondFlushed, 'while c, sent after it, is still in flight');
  mem.answerNext();
  await second;
  t.deepEqual(fates, ['a', 'b', 'c']);
  t.deepEqual(mem.logs.get(0), ['a', 'c']);
  // With nothing in flight a flush resolves at once.
  await producer.flush();
  t.pass();
});

test('produce: a flush() waits for a failed record too, and a flush made later does not finish before an earlier one', async (t) => {
  const { producer, mem } = await readyProducer({ lingerMs: 0, acks: 1, retries: 0 });
  const order: string[] = [];
  producer.produce({ topic: 't', value: 'x', partition: 0 });
  const first = producer.flush().then(() => order.push('first'));
  await settle();
  producer.produce({ topic: 't', value: 'y', partition: 1 });
  const second = producer.flush().then(() => order.push('second'));
  await settle();
  t.is(mem.held.length, 2);
  // The later request is answered first: the second flush still waits for x, which the first flush waits for.
  mem.held.pop()!.answer();
  await settle();
  t.deepEqual(order, []);
  mem.answerNext('INVALID_TIMESTAMP');
  await Promise.all([first, second]);
  t.deepEqual(order, ['first', 'second']);
  t.like(producer.stats, { acknowledged: 1, failed: 1, unobservedFailed: 1 });
});

test('produce: the callbacks of one partition run in send order, across batches, requests and a retried batch', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('ordered', 2);
  const channel = createWireChannel({ bootstrap: [cluster.addresses[0]!], network: createRealNetwork({ log: silentLogger }), clock: realClock, log: silentLogger, requestTimeoutMs: 5_000 });
  // One record per batch and no linger: every record is its own batch, up to 5 requests in flight.
  const producer = new Producer({ batchSizeBytes: 1, lingerMs: 0, retryBackoffMs: 10, retryBackoffMaxMs: 50 }, { channel, clock: realClock, random: createRealRandom(), log: silentLogger });
  t.teardown(() => producer.close({ timeoutMs: 1_000 }));
  await producer.send({ topic: 'ordered', value: 'w', partition: 0 });
  await producer.send({ topic: 'ordered', value: 'w', partition: 1 });
  cluster.failProduce('ordered', 0, [{ code: 'NOT_ENOUGH_REPLICAS' }]);
  const seen = new Map<number, Array<{ value: string; offset: number }>>([[0, []], [1, []]]);
  const count = 40;
  for (let i = 0; i < count; i++) {
    const partition = i % 2;
    const value = `r${i}`;
    producer.produce({ topic: 'ordered', value, partition }, (err, meta) => {
      if (err !== null) throw err;
      seen.get(partition)!.push({ value, offset: meta!.offset });
    });
  }
  await producer.flush();
  for (const partition of [0, 1]) {
    const expected = Array.from({ length: count / 2 }, (_, i) => `r${2 * i + partition}`);
    t.deepEqual(seen.get(partition)!.map((s) => s.value), expected, `callbacks of partition ${partition}`);
    t.deepEqual(seen.get(partition)!.map((s) => s.offset), expected.map((_, i) => i + 1), `offsets of partition ${partition}`);
    t.deepEqual(cluster.values('ordered', partition), ['w', ...expected]);
  }
  t.true(producer.stats.retries >= 1, `retries: ${producer.stats.retries}`);
});
