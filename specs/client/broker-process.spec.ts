// The clients against a real broker process (node dist/broker.js, a single node that is broker and controller):
// a topic created through the metadata quorum, idempotent acks=all sends read back in order by a Consumer, and the
// raftline produce | consume round trip on the command line.
import test from 'ava';
import { createConsumer, createProducer } from '../../src/client/real.js';
import { createRealNetwork, realClock } from '../../src/runtime/real/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { RpcClient } from '../../src/wire/rpc.js';
import { wireRegistry } from '../../src/wire/registry.js';
import { runCli, startBroker, waitForStatus } from '../helpers/broker-process.js';

async function createTopic(address: string, name: string, partitions: number): Promise<void> {
  const rpc = new RpcClient(createRealNetwork({ log: silentLogger }).connect(address, {}), { registry: wireRegistry, clock: realClock, timeoutMsDefault: 10_000 });
  try {
    const res = await rpc.request('controller.create-topics', { topics: [{ name, numPartitions: partitions, replicationFactor: 1, configs: {} }] });
    if (res.topics[0]?.error) throw new Error(`${res.topics[0].error.code}: ${res.topics[0].error.message}`);
    for (let i = 0; i < 100; i++) {
      const meta = await rpc.request('data.metadata', { topics: [name] });
      if (meta.topics[0]?.partitions.length === partitions && meta.topics[0].partitions.every((p) => p.leader >= 0)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name} has no leaders after 10 s`);
  } finally {
    rpc.close();
  }
}

test('client × broker process: acks=all idempotent sends, a consumer reads them back, and the CLI round trip', async (t) => {
  t.timeout(90_000);
  const broker = await startBroker(t, ['--node-id', '1']);
  await waitForStatus(`http://${broker.address}/readyz`, 200);
  await createTopic(broker.address, 'real', 3);

  const producer = createProducer({ bootstrap: [broker.address], acks: 'all', lingerMs: 2, log: silentLogger });
  const metas = await Promise.all(Array.from({ length: 300 }, (_, i) => producer.send({ topic: 'real', key: `k${i % 10}`, value: `v${i}` })));
  await producer.close();
  t.true(metas.every((m) => m.offset >= 0));

  const consumer = createConsumer({ bootstrap: [broker.address], autoOffsetReset: 'earliest', fetchMaxWaitMs: 100, log: silentLogger });
  consumer.assign([0, 1, 2].map((partition) => ({ topic: 'real', partition })));
  const got: string[] = [];
  const offsets = new Map<number, number[]>();
  for (let i = 0; i < 100 && got.length < 300; i++) {
    for (const r of await consumer.poll(500)) {
      got.push(r.value!.toString());
      offsets.set(r.partition, [...(offsets.get(r.partition) ?? []), r.offset]);
    }
  }
  consumer.close();
  t.deepEqual([...got].sort(), metas.map((_, i) => `v${i}`).sort(), 'every acknowledged record exactly once');
  for (const [p, list] of offsets) t.deepEqual(list, list.map((_, i) => i), `partition ${p} in offset order`);

  const at = ['--bootstrap', broker.address];
  const produced = await runCli(['produce', 'real', '--partition', '2', ...at], 'one\ntwo\nthree\n');
  t.is(produced.code, 0, produced.stderr);
  const consumed = await runCli(['consume', 'real', '--partition', '2', '--from', 'beginning', '--format', 'json', '--idle-ms', '1000', ...at]);
  t.is(consumed.code, 0, consumed.stderr);
  const lines = consumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { value: string });
  t.deepEqual(lines.slice(-3).map((l) => l.value), ['one', 'two', 'three']);
});
