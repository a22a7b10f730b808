// Idempotence bookkeeping and the producer on a manual clock: sequences wrap like Kafka's int32, at most 5 batches
// per partition in flight, "next expected" tells a retriable out-of-order answer from a broken sequence; and with
// the runtime ports alone (a manual Clock, a seeded Random, an in-memory ClientChannel) linger.ms, retry back-off
// and delivery.timeout.ms happen exactly when virtual time says — what lets the simulator run the real Producer.
import test from 'ava';
import { ProducerSequences, incrementSequence, sequenceAfter } from '../../src/client/producer-sequences.js';
import { Producer } from '../../src/client/producer.js';
import type { BrokerNode, ClientChannel, ClusterMetadata, ProduceCall, ProducePartitionResult } from '../../src/client/channel.js';
import { DeliveryTimeoutError } from '../../src/client/errors.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { RaftlineError, type ErrorCode } from '../../src/wire/errors.js';
import { decodeRecords, readBatchHeader } from '../../src/storage/record-batch.js';
import { createManualClock } from '../helpers/manual-clock.js';

test('sequences: int32 sequences wrap to 0 as Kafka\'s do, and order survives the wrap', (t) => {
  t.is(incrementSequence(0, 5), 5);
  t.is(incrementSequence(0x7fffffff, 1), 0);
  t.is(incrementSequence(0x7ffffffe, 5), 3);
  t.true(sequenceAfter(2, 0x7ffffffe));
  t.false(sequenceAfter(0x7ffffffe, 2));
  const s = new ProducerSequences(5);
  s.setProducer(7, 0);
  t.is(s.assign('p', 3), 0);
  t.is(s.assign('p', 2), 3);
  t.is(s.assign('q', 1), 0, 'each partition has its own sequence');
});

test('sequences: at most 5 in flight per partition; next-expected follows acknowledgements', (t) => {
  const s = new ProducerSequences(5);
  t.throws(() => s.assign('p', 1), undefined, 'no sequence before a producer id');
  s.setProducer(1, 0);
  const bases = [0, 1, 2, 3, 4].map(() => s.assign('p', 1));
  for (const b of bases) s.sent('p', b);
  t.false(s.canSend('p'));
  t.throws(() => s.sent('p', s.assign('p', 1)));
  t.true(s.isNextExpected('p', 0));
  s.answered('p', 0);
  s.acknowledged('p', 0, 1);
  t.true(s.canSend('p'));
  t.true(s.isNextExpected('p', 1));
  t.false(s.isNextExpected('p', 2), 'an out-of-order answer for 2 while 1 is unacknowledged is retriable');
  t.throws(() => s.answered('p', 0), undefined, 'answered twice');
  s.setProducer(2, 0);
  t.is(s.assign('p', 1), 0, 'a new producer id starts every partition at 0');
  t.throws(() => new ProducerSequences(6));
});

/** An in-memory cluster behind the ClientChannel interface: one broker, one partition, scripted answers. */
function memoryChannel(answers: Array<ErrorCode | null>) {
  const log: Array<{ atMs: number; baseSequence: number; values: string[] }> = [];
  let offset = 0;
  const node: BrokerNode = { nodeId: 0, address: 'memory:1' };
  const meta: ClusterMetadata = {
    brokers: new Map([[0, node]]),
    topics: new Map([['t', { name: 't', error: null, partitions: [{ partition: 0, leader: 0, leaderEpoch: 0, replicas: [0], isr: [0] }] }]]),
  };
  let clockRef: { monotonicMs(): number } | undefined;
  const channel: ClientChannel = {
    metadata: async () => meta,
    initProducerId: async () => ({ producerId: 5, producerEpoch: 0 }),
    produce: async (_node, call: ProduceCall): Promise<ProducePartitionResult[]> =>
      call.partitions.map((p) => {
        const header = readBatchHeader(p.records);
        log.push({ atMs: clockRef?.monotonicMs() ?? -1, baseSequence: header.baseSequence, values: decodeRecords(p.records).map((r) => r.value!.toString()) });
        const code = answers.shift() ?? null;
        if (code !== null) return { topic: p.topic, partition: p.partition, error: { code, message: code }, baseOffset: -1 };
        const base = offset;
        offset += header.recordCount;
        return { topic: p.topic, partition: p.partition, error: null, baseOffset: base };
      }),
    fetch: async () => [],
    listOffsets: async () => [],
    close: () => {},
  };
  return { channel, log, bindClock: (c: { monotonicMs(): number }) => (clockRef = c) };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

test('producer on ports: a lone record waits linger.ms of virtual time, then goes with the records that joined it', async (t) => {
  const clock = createManualClock();
  const mem = memoryChannel([]);
  mem.bindClock(clock);
  const producer = new Producer({ lingerMs: 100 }, { channel: mem.channel, clock, random: createSeededRandom(1), log: silentLogger });
  await settle();
  t.is(producer.lifecycle, 'ready');
  const first = producer.send({ topic: 't', value: 'a' });
  clock.advance(60);
  void producer.send({ topic: 't', value: 'b' });
  await settle();
  t.is(mem.log.length, 0, 'nothing sent before linger.ms');
  clock.advance(40);
  await settle();
  t.deepEqual(mem.log, [{ atMs: 100, baseSequence: 0, values: ['a', 'b'] }]);
  t.like(await first, { offset: 0, partition: 0 });
});

test('producer on ports: retries back off exponentially, then delivery.timeout.ms ends them with the last error as cause', async (t) => {
  const clock = createManualClock();
  const mem = memoryChannel(Array<ErrorCode>(50).fill('NOT_ENOUGH_REPLICAS'));
  mem.bindClock(clock);
  const producer = new Producer(
    { lingerMs: 0, retryBackoffMs: 100, retryBackoffMaxMs: 800, deliveryTimeoutMs: 3_000, requestTimeoutMs: 1_000 },
    { channel: mem.channel, clock, random: createSeededRandom(2), log: silentLogger },
  );
  await settle();
  const sent = producer.send({ topic: 't', value: 'x' });
  for (let i = 0; i < 400; i++) {
    clock.advance(10);
    await settle();
  }
  const err = await t.throwsAsync(sent);
  t.true(err instanceof DeliveryTimeoutError);
  t.true((err as DeliveryTimeoutError).cause instanceof RaftlineError && ((err as DeliveryTimeoutError).cause as RaftlineError).code === 'NOT_ENOUGH_REPLICAS');
  const gaps = mem.log.slice(1).map((e, i) => e.atMs - mem.log[i]!.atMs);
  t.log(`attempts at ${mem.log.map((e) => e.atMs).join(', ')} ms`);
  // 100, 200, 400, 800, 800... each within ±20 % jitter (and the 10 ms steps of this test's clock).
  const expected = [100, 200, 400, 800, 800];
  expected.forEach((base, i) => t.true(gaps[i]! >= base * 0.8 - 10 && gaps[i]! <= base * 1.2 + 10, `gap ${i}: ${gaps[i]} vs ${base}`));
  t.true(mem.log.every((e) => e.baseSequence === 0), 'every retry resends the same sequence');
  t.true(mem.log[mem.log.length - 1]!.atMs < 3_000);
});
