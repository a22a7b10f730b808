// The clients across a leader failure with real processes: three nodes on 127.0.0.1 (each broker and controller), an
// RF=3 topic with min.insync.replicas=2, the real Producer (idempotent, acks=all) sending numbered records while the
// partition leader is killed with SIGKILL; sends resume on the new leader by themselves (retries and a metadata
// refresh — the gap is logged), and a Consumer afterwards reads every acknowledged record exactly once, in order.
import test from 'ava';
import { createConsumer, createProducer } from '../../src/client/real.js';
import type { RecordMetadata } from '../../src/client/producer.js';
import { createRealNetwork, realClock } from '../../src/runtime/real/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { RpcClient } from '../../src/wire/rpc.js';
import { wireRegistry } from '../../src/wire/registry.js';
import { freePorts, startBroker, tempDir, type BrokerProcess } from '../helpers/broker-process.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Creates the topic at the active controller and waits for a leader with a full ISR; returns the leader. */
async function createTopic(addresses: string[], name: string): Promise<number> {
  const network = createRealNetwork({ log: silentLogger });
  const deadline = Date.now() + 30_000;
  let last: unknown;
  for (let i = 0; Date.now() < deadline; i++) {
    const rpc = new RpcClient(network.connect(addresses[i % addresses.length]!, {}), { registry: wireRegistry, clock: realClock, timeoutMsDefault: 2_000 });
    try {
      const res = await rpc.request('controller.create-topics', { topics: [{ name, numPartitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }] });
      const error = res.topics[0]!.error;
      if (error !== null && error.code !== 'TOPIC_ALREADY_EXISTS') throw new Error(`${error.code}: ${error.message}`);
      for (let j = 0; j < 100; j++) {
        const p = (await rpc.request('data.metadata', { topics: [name] })).topics[0]?.partitions[0];
        if (p !== undefined && p.leader >= 0 && p.isr.length === 3) return p.leader;
        await sleep(100);
      }
    } catch (err) {
      last = err; // not the active controller, or not up yet: the next node
      await sleep(100);
    } finally {
      rpc.close();
    }
  }
  throw new Error(`topic ${name} not created: ${String(last)}`);
}

test.serial('client × processes: kill -9 of the leader mid-stream; the producer resumes alone and the consumer reads every acknowledged record once, in order', async (t) => {
  t.timeout(90_000);
  const ports = await freePorts(3);
  const address = (id: number): string => `127.0.0.1:${ports[id - 1]}`;
  const ids = [1, 2, 3];
  const quorum = ids.map((id) => `${id}@${address(id)}`).join(',');
  const procs = new Map<number, BrokerProcess>();
  await Promise.all(ids.map(async (id) => procs.set(id, await startBroker(t, ['--node-id', String(id), '--controller-quorum', quorum], { dataDir: tempDir(`client-failover-${id}`) }))));
  const bootstrap = ids.map(address);
  const leader = await createTopic(bootstrap, 'numbers');

  const producer = createProducer({ bootstrap, acks: 'all', lingerMs: 1, retryBackoffMs: 50, retryBackoffMaxMs: 200, requestTimeoutMs: 3_000, deliveryTimeoutMs: 30_000, log: silentLogger });
  t.teardown(() => producer.close({ timeoutMs: 1_000 }));
  const acked: Array<{ n: number; meta: RecordMetadata; atMs: number }> = [];
  let n = 0;
  // A steady stream with a few records in flight: each acknowledgement lets the next record go.
  const inFlight = 8;
  let killedAtMs = 0;
  const sendNext = async (): Promise<void> => {
    while (n < 400) {
      const mine = n++;
      const meta = await producer.send({ topic: 'numbers', value: `n${mine}` });
      acked.push({ n: mine, meta, atMs: Date.now() });
      if (mine === 150) {
        killedAtMs = Date.now();
        procs.get(leader)!.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, sendNext));
  t.is(acked.length, 400, 'every record acknowledged');
  const after = acked.filter((a) => a.atMs >= killedAtMs).sort((a, b) => a.atMs - b.atMs);
  let gapMs = 0;
  for (let i = 1; i < after.length; i++) gapMs = Math.max(gapMs, after[i]!.atMs - after[i - 1]!.atMs);
  gapMs = Math.max(gapMs, (after[0]?.atMs ?? killedAtMs) - killedAtMs);
  t.log(`kill -9 of leader ${leader} at record 150: longest pause between acknowledgements afterwards ${gapMs} ms; ${producer.stats.retries} retries`);
  await producer.close();

  const alive = ids.filter((id) => id !== leader).map(address);
  const consumer = createConsumer({ bootstrap: alive, autoOffsetReset: 'earliest', fetchMaxWaitMs: 100, log: silentLogger });
  t.teardown(() => consumer.close());
  consumer.assign([{ topic: 'numbers', partition: 0 }]);
  const read: Array<{ offset: number; value: string }> = [];
  for (let i = 0; i < 100 && read.length < 400; i++) {
    for (const r of await consumer.poll(500)) read.push({ offset: r.offset, value: r.value!.toString() });
  }
  const values = read.map((r) => r.value);
  t.is(new Set(values).size, values.length, 'no record twice (idempotence across the failover)');
  t.deepEqual(read.map((r) => r.offset), read.map((_, i) => i), 'offsets 0.. without gaps');
  t.deepEqual(values, Array.from({ length: 400 }, (_, i) => `n${i}`), 'in the order they were sent, retries included');
  const byValue = new Map(read.map((r) => [r.value, r.offset]));
  for (const a of acked) t.is(byValue.get(`n${a.n}`), a.meta.offset, `n${a.n} is where its acknowledgement said`);
  t.is(read.length, 400);
});
