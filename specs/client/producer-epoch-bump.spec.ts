// KIP-360 in the real Producer: when the partition leader lost what came before a batch (OUT_OF_ORDER_SEQUENCE_NUMBER at
// the next expected sequence, or UNKNOWN_PRODUCER_ID), the producer bumps its epoch with InitProducerId(current id and
// epoch), restarts its sequences at 0 and resends the refused batch: nothing that was not already lost fails. The
// broker side is the real ProducerStateTable. Found by the simulator (known bug "client producer stalls after data
// loss"): the producer failed the batch, took a new id and could stall.
import test from 'ava';
import { Producer } from '../../src/client/producer.js';
import type { BrokerNode, ClientChannel, ClusterMetadata, ProduceCall, ProducePartitionResult } from '../../src/client/channel.js';
import { ProducerStateTable } from '../../src/replication/producer-state.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { decodeRecords, readBatchHeader, type BatchHeader } from '../../src/storage/record-batch.js';
import { createManualClock } from '../helpers/manual-clock.js';

interface Written {
  offset: number;
  value: string;
  producerEpoch: number;
  baseSequence: number;
}

/** One broker leading one partition, with the broker's real sequence checks, and a way to lose the log's tail. */
function oneBroker() {
  let table = new ProducerStateTable();
  let log: Written[] = [];
  const headers: BatchHeader[] = [];
  const inits: Array<{ producerId: number; producerEpoch: number } | undefined> = [];
  const node: BrokerNode = { nodeId: 0, address: 'memory:1' };
  const meta: ClusterMetadata = {
    brokers: new Map([[0, node]]),
    topics: new Map([['t', { name: 't', error: null, partitions: [{ partition: 0, leader: 0, leaderEpoch: 0, replicas: [0], isr: [0] }] }]]),
  };
  let forceUnknownProducer = false;
  const channel: ClientChannel = {
    metadata: async () => meta,
    initProducerId: async (current) => {
      inits.push(current);
      return current === undefined ? { producerId: 7, producerEpoch: 0 } : { producerId: current.producerId, producerEpoch: current.producerEpoch + 1 };
    },
    produce: async (_node, call: ProduceCall): Promise<ProducePartitionResult[]> =>
      call.partitions.map((p) => {
        const header = readBatchHeader(p.records);
        try {
          if (forceUnknownProducer) {
            forceUnknownProducer = false;
            throw new RaftlineError('UNKNOWN_PRODUCER_ID', 'no state for this producer');
          }
          const check = table.check(header);
          if (check.kind === 'duplicate') return { topic: p.topic, partition: p.partition, error: null, baseOffset: check.baseOffset };
        } catch (err) {
          const e = err as RaftlineError;
          return { topic: p.topic, partition: p.partition, error: { code: e.code, message: e.message }, baseOffset: -1 };
        }
        const base = log.length;
        table.update(header, base);
        headers.push(header);
        decodeRecords(p.records).forEach((r, i) => log.push({ offset: base + i, value: r.value!.toString(), producerEpoch: header.producerEpoch, baseSequence: header.baseSequence + i }));
        return { topic: p.topic, partition: p.partition, error: null, baseOffset: base };
      }),
    fetch: async () => [],
    listOffsets: async () => [],
    close: () => {},
  };
  return {
    channel,
    inits,
    written: () => log.map((w) => `${w.value}@${w.offset} e${w.producerEpoch}s${w.baseSequence}`),
    /** The leader's log keeps only its first `keep` records (an unsynced tail lost); its producer state is rebuilt. */
    loseTail(keep: number) {
      log = log.slice(0, keep);
      table = new ProducerStateTable();
      let offset = 0;
      for (const h of headers) {
        if (offset + h.recordCount > keep) break;
        table.update(h, offset);
        offset += h.recordCount;
      }
    },
    unknownProducerOnce() {
      forceUnknownProducer = true;
    },
  };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 30; i++) await Promise.resolve();
};

async function ready(producer: Producer, clock: ReturnType<typeof createManualClock>): Promise<void> {
  for (let i = 0; i < 50 && producer.lifecycle !== 'ready'; i++) {
    clock.advance(5);
    await settle();
  }
}

test('producer: OUT_OF_ORDER_SEQUENCE_NUMBER after the leader lost its tail bumps the epoch and resends the batch from sequence 0; nothing else fails', async (t) => {
  const clock = createManualClock();
  const broker = oneBroker();
  const producer = new Producer({ lingerMs: 0, retryBackoffMs: 10, retryBackoffMaxMs: 100 }, { channel: broker.channel, clock, random: createSeededRandom(5), log: silentLogger });
  await ready(producer, clock);
  const first = [producer.send({ topic: 't', value: 'a' })];
  await settle();
  first.push(producer.send({ topic: 't', value: 'b' }));
  await settle();
  t.deepEqual((await Promise.all(first)).map((m) => m.offset), [0, 1]);
  // The leader loses power and comes back with only 'a': it expects sequence 1 of epoch 0 next.
  broker.loseTail(1);
  const c = producer.send({ topic: 't', value: 'c' });
  for (let i = 0; i < 40; i++) {
    clock.advance(5);
    await settle();
  }
  t.like(await c, { offset: 1 }, 'the refused batch was resent under the bumped epoch, not failed');
  const d = producer.send({ topic: 't', value: 'd' });
  await ready(producer, clock);
  await settle();
  t.like(await d, { offset: 2 });
  t.deepEqual(broker.inits, [undefined, { producerId: 7, producerEpoch: 0 }], 'one fresh id, then one bump of it');
  t.deepEqual(broker.written(), ['a@0 e0s0', 'c@1 e1s0', 'd@2 e1s1']);
  t.is(producer.producerId, 7, 'the same producer id');
  t.is(producer.stats.failed, 0);
  await producer.close();
});

test('producer: UNKNOWN_PRODUCER_ID bumps the epoch as well, and later batches keep their order behind the resent one', async (t) => {
  const clock = createManualClock();
  const broker = oneBroker();
  const producer = new Producer({ lingerMs: 0, retryBackoffMs: 10, retryBackoffMaxMs: 100 }, { channel: broker.channel, clock, random: createSeededRandom(6), log: silentLogger });
  await ready(producer, clock);
  await producer.send({ topic: 't', value: 'a' });
  broker.unknownProducerOnce();
  const rest = ['b', 'c', 'd'].map((value) => producer.send({ topic: 't', value }));
  for (let i = 0; i < 60; i++) {
    clock.advance(5);
    await settle();
  }
  t.deepEqual((await Promise.all(rest)).map((m) => m.offset), [1, 2, 3]);
  t.deepEqual(broker.inits, [undefined, { producerId: 7, producerEpoch: 0 }]);
  const written = broker.written();
  t.deepEqual(written.map((w) => w.split('@')[0]), ['a', 'b', 'c', 'd'], `send order kept: ${written.join(', ')}`);
  t.true(written.slice(1).every((w) => w.includes(' e1')), 'everything after the refusal went under epoch 1');
  t.is(producer.stats.failed, 0);
  await producer.close();
});
