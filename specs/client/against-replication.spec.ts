// The real Producer and Consumer against the real replication data plane, in one process on virtual time: three
// ReplicaManagers (specs/replication/harness.ts: SimDisks, the real controller core) serve the data.* handlers
// through the wire server, and the clients reach them through createWireChannel over in-memory connections — the
// whole client path (partitioner, accumulator, sequences, RpcClient, zod schemas) meets the broker's rules.
import test from 'ava';
import { Producer } from '../../src/client/producer.js';
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.js';
import { createWireChannel } from '../../src/client/wire-channel.js';
import { silentLogger } from '../../src/runtime/logger.js';
import type { Connection, Network } from '../../src/runtime/network.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import { dataHandlers } from '../../src/replication/handlers.js';
import { createRpcServer, type RpcServer } from '../../src/wire/server.js';
import { wireRegistry } from '../../src/wire/registry.js';
import { ReplicationCluster } from '../replication/harness.js';
import { memoryPair } from '../helpers/memory-connection.js';

/** A Network whose "127.0.0.1:900N" reaches broker N's data handlers over an in-memory connection. */
function memoryNetwork(c: ReplicationCluster): Network {
  const servers = new Map<number, RpcServer>();
  const serverOf = (id: number): RpcServer => {
    let s = servers.get(id);
    if (s === undefined) {
      s = createRpcServer({ registry: wireRegistry, clock: c.clock, log: silentLogger, handlers: dataHandlers(c.manager(id), silentLogger) });
      servers.set(id, s);
    }
    return s;
  };
  return {
    listen: () => Promise.reject(new Error('memory network: clients only')),
    connect(address): Connection {
      const id = Number(address.split(':')[1]) - 9000;
      const { client, server } = memoryPair();
      if (!c.managers.has(id)) queueMicrotask(() => client.close('no broker there'));
      else serverOf(id).accept(server);
      return client;
    },
  };
}

function clients(c: ReplicationCluster, seed: number) {
  const channel = () => createWireChannel({ bootstrap: ['127.0.0.1:9002'], network: memoryNetwork(c), clock: c.clock, log: silentLogger, requestTimeoutMs: 2_000 });
  const producer = new Producer({ lingerMs: 5, retryBackoffMs: 50, deliveryTimeoutMs: 30_000, requestTimeoutMs: 2_000 }, { channel: channel(), clock: c.clock, random: createSeededRandom(seed), log: silentLogger });
  const consumer = new Consumer({ autoOffsetReset: 'earliest', fetchMaxWaitMs: 100, retryBackoffMs: 50 }, { channel: channel(), clock: c.clock, log: silentLogger });
  return { producer, consumer };
}

async function consumeAll(c: ReplicationCluster, consumer: Consumer, count: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  for (let i = 0; i < 200 && out.length < count; i++) out.push(...(await c.await(consumer.poll(500), 5_000, 'poll')));
  return out;
}

test('client × replication: acks=all idempotent sends are replicated to every replica and read back in order', async (t) => {
  const c = new ReplicationCluster();
  await c.createTopic('orders', [[1, 2, 3], [2, 3, 1]], { 'min.insync.replicas': '2' });
  const { producer, consumer } = clients(c, 1);
  const sends = Array.from({ length: 60 }, (_, i) => producer.send({ topic: 'orders', key: `k${i % 7}`, value: `v${i}` }));
  const metas = await c.await(Promise.all(sends), 10_000, 'sends');
  t.true(producer.producerId >= 0, 'a producer id from the brokers');
  consumer.assign([{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }]);
  const records = await consumeAll(c, consumer, 60);
  t.is(records.length, 60);
  for (const p of [0, 1]) {
    const mine = records.filter((r) => r.partition === p);
    t.deepEqual(mine.map((r) => r.offset), mine.map((_, i) => i), `partition ${p}: offsets 0.. in order`);
    const sent = metas.map((m, i) => ({ m, v: `v${i}` })).filter((x) => x.m.partition === p);
    t.deepEqual(mine.map((r) => r.value!.toString()), sent.sort((a, b) => a.m.offset - b.m.offset).map((x) => x.v));
    for (const id of [1, 2, 3]) t.is((await c.logValues(id, 'orders', p)).length, mine.length, `broker ${id} has all of partition ${p}`);
  }
  await c.await(producer.close(), 5_000, 'close');
  consumer.close();
  await c.close();
});

test('client × replication: the leader is fenced mid-stream; the producer follows the new leader and nothing is lost or doubled', async (t) => {
  const c = new ReplicationCluster({ settings: { lagTimeMaxMs: 1_000 } });
  await c.createTopic('moving', [[1, 2, 3]], { 'min.insync.replicas': '2' });
  const { producer, consumer } = clients(c, 2);
  const first = await c.await(Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'moving', value: `a${i}` }))), 10_000, 'first sends');
  t.true(first.every((m) => m.offset >= 0));
  c.isolated.add(1);
  c.fence(1);
  t.not(c.partition('moving').leader, 1, 'leadership moved');
  const second = await c.await(Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'moving', value: `b${i}` }))), 20_000, 'sends after failover');
  t.true(producer.stats.retries >= 1, 'the first attempt went to the fenced leader and was refused');
  consumer.assign([{ topic: 'moving', partition: 0 }]);
  const records = await consumeAll(c, consumer, 40);
  const values = records.map((r) => r.value!.toString());
  t.deepEqual(values, [...Array.from({ length: 20 }, (_, i) => `a${i}`), ...Array.from({ length: 20 }, (_, i) => `b${i}`)], 'every acknowledged record once, in order');
  t.deepEqual(second.map((m) => m.offset), Array.from({ length: 20 }, (_, i) => 20 + i));
  await c.await(producer.close(), 5_000, 'close');
  consumer.close();
  await c.close();
});

test('client × replication: with the ISR below min.insync.replicas acks=all sends wait (NOT_ENOUGH_REPLICAS, retried) and go through once a replica returns', async (t) => {
  const c = new ReplicationCluster({ settings: { lagTimeMaxMs: 500 } });
  await c.createTopic('safe', [[1, 2, 3]], { 'min.insync.replicas': '2' });
  const { producer } = clients(c, 3);
  await c.await(producer.send({ topic: 'safe', value: 'warm' }), 5_000, 'warm-up');
  c.isolated.add(2);
  c.isolated.add(3);
  await c.runUntil(() => c.partition('safe').isr.length === 1, 5_000, 'the ISR shrinks to the leader');
  const pending = producer.send({ topic: 'safe', value: 'held' });
  await c.run(1_000);
  t.true(producer.stats.retries >= 1, 'refused and retried while the ISR is too small');
  t.deepEqual((await c.logValues(1, 'safe')).map(([, v]) => v), ['warm'], 'nothing written while refused');
  c.isolated.delete(2);
  const meta = await c.await(pending, 20_000, 'the held send');
  t.is(meta.offset, 1);
  await c.await(producer.close(), 5_000, 'close');
  await c.close();
});
