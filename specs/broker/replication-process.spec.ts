// The data plane across real broker processes: three nodes on 127.0.0.1 (each broker and controller), an RF=3 topic
// with min.insync.replicas=2, numbered records produced at acks=all with raw `data.*` wire requests, read back from
// the leader; then kill -9 of the partition leader: produce resumes on the new leader (the gap is logged), and every
// acknowledged record is still there, at its acknowledged offset, exactly once and in order. Stopped by PID.
import test from 'ava';
import { createRealNetwork, realClock } from '../../src/runtime/real/index.js';
import { batchesIn, decodeRecords, encodeBatch } from '../../src/storage/record-batch.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { wireRegistry, type WireApis } from '../../src/wire/registry.js';
import { RpcClient } from '../../src/wire/rpc.js';
import type { RequestApiName, RequestIn, ResponseOut } from '../../src/wire/api.js';
import { freePorts, startBroker, tempDir, type BrokerProcess } from '../helpers/broker-process.js';

/** One RPC client per node address, reconnecting after a close. */
class Clients {
  private readonly network = createRealNetwork({ connectTimeoutMs: 1_000 });
  private readonly clients = new Map<string, RpcClient<WireApis>>();

  request<K extends RequestApiName<WireApis>>(address: string, api: K, body: RequestIn<WireApis, K>, timeoutMs = 2_000): Promise<ResponseOut<WireApis, K>> {
    let client = this.clients.get(address);
    if (client === undefined || client.isClosed) {
      client = new RpcClient(this.network.connect(address, {}), { registry: wireRegistry, clock: realClock });
      this.clients.set(address, client);
    }
    return client.request(api, body, { timeoutMs });
  }

  close(): void {
    for (const c of this.clients.values()) c.close('spec done');
  }
}

async function until<T>(ms: number, what: string, poll: () => Promise<T | null>, everyMs = 20): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    let value: T | null = null;
    try {
      value = await poll();
    } catch (err) {
      last = err;
      value = null;
    }
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last error: ${String(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

test.serial('replication process: acks=all to an RF=3 topic, kill -9 of the leader, produce resumes and nothing acknowledged is lost', async (t) => {
  t.timeout(60_000);
  const ports = await freePorts(3);
  const ids = [1, 2, 3];
  const address = (id: number): string => `127.0.0.1:${ports[id - 1]}`;
  const quorum = ids.map((id) => `${id}@${address(id)}`).join(',');
  const procs = new Map<number, BrokerProcess>();
  const dataDirs = new Map(ids.map((id) => [id, tempDir(`replication-${id}`)]));
  const start = async (id: number): Promise<void> => {
    procs.set(id, await startBroker(t, ['--node-id', String(id), '--controller-quorum', quorum], { dataDir: dataDirs.get(id)! }));
  };
  await Promise.all(ids.map(start));
  const clients = new Clients();
  t.teardown(() => clients.close());

  await until(20_000, 'three unfenced brokers', async () => {
    const cluster = await clients.request(address(1), 'controller.describe-cluster', { includeFenced: false });
    return cluster.controllerId !== null && cluster.brokers.length === 3 ? cluster : null;
  });
  await until(10_000, 'topic created', async () => {
    // Voters do not forward admin writes: ask the active controller.
    const { controllerId } = await clients.request(address(1), 'controller.describe-cluster', { includeFenced: false });
    if (controllerId === null) return null;
    try {
      const res = await clients.request(address(controllerId), 'controller.create-topics', {
        topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }],
      });
      const error = res.topics[0]!.error;
      if (error === null || error.code === 'TOPIC_ALREADY_EXISTS') return true;
      throw new Error(`create-topics: ${error.code}: ${error.message}`);
    } catch (err) {
      if (err instanceof RaftlineError && err.retriable) return null;
      throw err;
    }
  });

  const metadataFrom = async (ids: number[]) => {
    for (const id of ids) {
      try {
        return await clients.request(address(id), 'data.metadata', { topics: ['orders'] }, 1_000);
      } catch {
        // that node is down; ask the next
      }
    }
    return null;
  };
  const leaderOf = async (alive: number[]): Promise<number | null> => {
    const md = await metadataFrom(alive);
    const p = md?.topics[0]?.partitions[0];
    return p !== undefined && p.leader >= 0 && alive.includes(p.leader) ? p.leader : null;
  };

  const acked: Array<{ offset: number; value: string }> = [];
  let next = 0;
  let lastProduceError = '';
  /** Sends record `next` to `leader` at acks=all; true when acknowledged. */
  const produceOne = async (leader: number, attempt = 0): Promise<boolean> => {
    const value = `record-${next}`;
    const res = await clients.request(address(leader), 'data.produce', {
      acks: -1,
      timeoutMs: 3_000,
      topics: [{ name: 'orders', partitions: [{ partitionId: 0, records: encodeBatch({ records: [{ value: Buffer.from(value) }], timestamp: Date.now() }) }] }],
    }, 5_000);
    const p = res.topics[0]!.partitions[0]!;
    if (p.error !== null) {
      lastProduceError = `${p.error.code}: ${p.error.message}`;
      // Errors that guarantee nothing was written are retried, as a producer would after a metadata refresh (the
      // leader named by another broker's image may not have taken up its role yet).
      if (['NOT_LEADER_OR_FOLLOWER', 'NOT_ENOUGH_REPLICAS', 'UNKNOWN_TOPIC_OR_PARTITION'].includes(p.error.code) && attempt < 40) {
        await new Promise((r) => setTimeout(r, 50));
        return produceOne(leader, attempt + 1);
      }
      return false;
    }
    acked.push({ offset: p.baseOffset, value });
    next++;
    return true;
  };

  const leader = await until(10_000, 'a leader with a full ISR', async () => {
    const md = await metadataFrom(ids);
    const p = md?.topics[0]?.partitions[0];
    return p !== undefined && p.leader >= 0 && p.isr.length === 3 ? p.leader : null;
  });
  const latencies: number[] = [];
  for (let i = 0; i < 50; i++) {
    const sentAt = performance.now();
    t.true(await produceOne(leader), `record ${i} acknowledged at acks=all (${lastProduceError})`);
    latencies.push(performance.now() - sentAt);
  }
  const sorted = latencies.slice(5).sort((a, b) => a - b);
  t.log(`single-record acks=all over RF=3 (sequential, after 5 warm-up sends): p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`);

  // Read back from the leader what was acknowledged.
  const readAll = async (from: number): Promise<Array<{ offset: number; value: string }>> => {
    const out: Array<{ offset: number; value: string }> = [];
    let offset = 0;
    for (;;) {
      const res = await clients.request(address(from), 'data.fetch', {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        topics: [{ name: 'orders', partitions: [{ partitionId: 0, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
      });
      const p = res.topics[0]!.partitions[0]!;
      if (p.error !== null) throw new RaftlineError('UNKNOWN_SERVER_ERROR', `${p.error.code}: ${p.error.message}`);
      if (p.records.byteLength === 0) return out;
      for (const { header, position } of batchesIn(p.records)) {
        for (const r of decodeRecords(p.records, position)) if (r.offset >= offset) out.push({ offset: r.offset, value: r.value!.toString() });
        offset = header.lastOffset + 1;
      }
    }
  };
  t.deepEqual(await readAll(leader), acked, 'the leader serves every acknowledged record');
  // Topic describe on a broker that does not lead the partition shows the leader's high watermark.
  const follower = ids.find((id) => id !== leader)!;
  const described = await clients.request(address(follower), 'controller.describe-topics', { topics: ['orders'] });
  t.is(described.topics[0]!.partitions[0]!.highWatermark, acked.length);

  const killedAt = Date.now();
  procs.get(leader)!.child.kill('SIGKILL');
  await procs.get(leader)!.exited;
  const alive = ids.filter((id) => id !== leader);
  const newLeader = await until(15_000, 'produce accepted by a new leader', async () => {
    const l = await leaderOf(alive);
    if (l === null) return null;
    return (await produceOne(l)) ? l : null;
  });
  const gapMs = Date.now() - killedAt;
  t.log(`kill -9 of leader ${leader}: acks=all produce resumed on broker ${newLeader} after ${gapMs} ms`);
  for (let i = 0; i < 20; i++) t.true(await produceOne(newLeader), `record after failover acknowledged (${lastProduceError})`);

  const survived = await readAll(newLeader);
  const byOffset = new Map(survived.map((r) => [r.offset, r.value]));
  for (const { offset, value } of acked) t.is(byOffset.get(offset), value, `acknowledged ${value} at offset ${offset}`);
  const values = survived.map((r) => r.value);
  t.is(new Set(values).size, values.length, 'no record twice');
  t.deepEqual(values.filter((v) => acked.some((a) => a.value === v)), acked.map((a) => a.value), 'acknowledged records in order');
  t.true(gapMs < 10_000);

  // The killed broker restarts on its own data: it follows the new leader, catches up and rejoins the ISR.
  const restartedAt = Date.now();
  await start(leader);
  await until(15_000, `broker ${leader} back in the ISR`, async () => {
    const md = await metadataFrom([newLeader]);
    const isr = md?.topics[0]?.partitions[0]?.isr ?? [];
    return isr.includes(leader) && isr.length === 3 ? true : null;
  });
  t.log(`broker ${leader} restarted and rejoined the ISR after ${Date.now() - restartedAt} ms`);
  t.true(await produceOne(newLeader), 'acks=all with the full ISR again');
  t.deepEqual((await readAll(newLeader)).filter((r) => acked.some((a) => a.offset === r.offset)), acked);
});
