// The cluster system's data workload: producers and a consumer speaking the real `data.*` wire family to the brokers
// (metadata, init-producer-id, produce, fetch) from client nodes, recording the history that sim/checkers/data.ts
// judges (docs/simulator.md, "Data-plane history"), together with the faults the simulator applies and the partition
// elections the committed metadata shows. Keeps: every value is sent once per producer instance (retried with the
// same sequence when idempotent) and ends as exactly one of ok / fail / indeterminate in the history.
import { decodeRecords, batchesIn, encodeBatch } from '../../src/storage/record-batch.js';
import type { MetadataImage } from '../../src/controller/image.js';
import type { MetadataRecord } from '../../src/controller/records.js';
import type { Runtime } from '../../src/runtime/index.js';
import { sleep } from '../../src/runtime/clock.js';
import { RaftlineError, type ErrorCode } from '../../src/wire/errors.js';
import { wireRegistry, type WireApis } from '../../src/wire/registry.js';
import { RpcClient } from '../../src/wire/rpc.js';
import type { Acks, HistoryEvent } from '../checkers/data.js';
import type { Simulation } from '../simulation.js';
import type { SimNodeContext } from '../system.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { createWireChannel } from '../../src/client/wire-channel.js';
import type { TraceEvent } from '../trace.js';

export interface DataParams {
  /** Who produces: the real client Producer of src/client/ ('real'), or raw data.produce requests ('wire'). */
  producer: 'real' | 'wire';
  /** Sends a real producer keeps outstanding at once (its batching and in-flight window get exercised). */
  inFlight: number;
  /** Producers use idempotence (InitProducerId, sequence numbers) — Kafka's default. */
  idempotent: boolean;
  /** A send not acknowledged this long after it was invoked ends (fail or indeterminate). */
  deliveryTimeoutMs: number;
  /** The produce request's timeoutMs (how long acks=all may wait for replication). */
  requestTimeoutMs: number;
  retryMs: number;
  /** Pause between two reading passes of the consumer over every partition. */
  consumerPassMs: number;
  /** Who reads: the real client Consumer of src/client/ ('real'), or raw data.fetch requests ('wire'). */
  consumer: 'real' | 'wire';
}

/** Errors after which the request surely wrote nothing (the partition refused it before appending). */
const notWrittenCodes = new Set<string>(['NOT_LEADER_OR_FOLLOWER', 'NOT_ENOUGH_REPLICAS', 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID', 'LEADER_NOT_AVAILABLE', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'THROTTLING_QUOTA_EXCEEDED', 'INVALID_REQUEST', 'CORRUPT_MESSAGE', 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH', 'UNKNOWN_PRODUCER_ID', 'KAFKA_STORAGE_ERROR']);
/** Errors no retry of the same batch can fix: the send ends. */
const finalCodes = new Set<string>(['INVALID_REQUEST', 'CORRUPT_MESSAGE', 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH', 'UNKNOWN_PRODUCER_ID']);

const fetchBytesMax = 1 << 20;
/** Polls one pass of the real consumer may take before it counts as incomplete (the wire reader's 20 attempts). */
const consumerPassPollsMax = 20;

interface ProducerSpec {
  id: string;
  node: number;
  topic: string;
  acks: Acks;
  intervalMs: number;
  messages: number;
}

interface ConsumerSpec {
  id: string;
  node: number;
  topic: string;
}

interface ProducerState {
  spec: ProducerSpec;
  /** Values invoked so far (the next value is `${id}-${next}`). */
  next: number;
  /** Values that ended (ok, fail or indeterminate). */
  settled: number;
  instances: number;
  /** The values whose sends are under way, with the history producer that sent each. */
  inFlight: Map<string, string>;
}

/** One client node's view of the cluster: an RPC client per server node and the partition leaders it last heard of. */
class ClusterChannel {
  private readonly clients = new Map<number, RpcClient<WireApis>>();
  private readonly leaders = new Map<string, { leader: number; leaderEpoch: number }>();
  private roundRobin = 0;

  constructor(
    private readonly runtime: Runtime,
    private readonly servers: readonly number[],
    private readonly addressOf: (nodeId: number) => string,
  ) {}

  client(nodeId: number): RpcClient<WireApis> {
    const known = this.clients.get(nodeId);
    if (known !== undefined && !known.isClosed) return known;
    const client: RpcClient<WireApis> = new RpcClient(this.runtime.network.connect(this.addressOf(nodeId), {}), {
      registry: wireRegistry,
      clock: this.runtime.clock,
      log: this.runtime.log.child({ actor: 'data-client' }),
      onClose: () => {
        if (this.clients.get(nodeId) === client) this.clients.delete(nodeId);
      },
    });
    this.clients.set(nodeId, client);
    return client;
  }

  anyServer(): number {
    return this.servers[this.roundRobin++ % this.servers.length]!;
  }

  forget(topic: string, partition: number): void {
    this.leaders.delete(`${topic}-${partition}`);
  }

  /** The partition's leader as some broker's metadata says (asked again after `forget`); null when none is known. */
  async leaderOf(topic: string, partition: number, timeoutMs: number): Promise<number | null> {
    const cached = this.leaders.get(`${topic}-${partition}`);
    if (cached !== undefined) return cached.leader;
    try {
      const r = await this.client(this.anyServer()).request('data.metadata', { topics: [topic] }, { timeoutMs });
      for (const t of r.topics) {
        if (t.name !== topic || t.error !== null) continue;
        for (const p of t.partitions) if (p.leader >= 0) this.leaders.set(`${topic}-${p.partitionId}`, { leader: p.leader, leaderEpoch: p.leaderEpoch });
      }
    } catch (error) {
      if (!(error instanceof RaftlineError)) throw error;
    }
    return this.leaders.get(`${topic}-${partition}`)?.leader ?? null;
  }
}

export interface DataWorkloadOptions {
  sim: Simulation;
  params: DataParams;
  servers: readonly number[];
  port: number;
  /** The partition's leader as the committed metadata says now: the broker a real producer's acknowledgement came from. */
  leaderNow?: (topic: string, partition: number) => number | null;
}

export class DataWorkload {
  readonly history: HistoryEvent[] = [];
  private readonly producers: ProducerState[];
  private readonly consumers: ConsumerSpec[];
  private readonly partitionsOf = new Map<string, number>();
  /** Consumers whose last complete pass over every partition started once every producer had settled. */
  private readonly finalPass = new Set<string>();
  private readonly drivers = new Map<number, number>();
  /** Elections already in the history, by topic id / partition / leader epoch. */
  private readonly elections = new Set<string>();
  private readonly lastImage = new Map<number, MetadataImage>();

  constructor(private readonly options: DataWorkloadOptions) {
    const { schedule } = options.sim;
    const clients = schedule.cluster.nodes.filter((n) => n.roles.includes('client')).map((n) => n.id);
    for (const t of schedule.cluster.topics) this.partitionsOf.set(t.name, t.partitions);
    const nodeOf = (node: number | undefined, what: string): number => {
      const id = node ?? clients[0];
      if (id === undefined || !clients.includes(id)) throw new TypeError(`cluster: ${what} must run on a client node (got ${String(node)})`);
      return id;
    };
    const topicOf = (topic: string, what: string): string => {
      if (!this.partitionsOf.has(topic)) throw new TypeError(`cluster: ${what} names topic ${topic}, which is not in cluster.topics`);
      return topic;
    };
    this.producers = schedule.workload.producers.map((p) => ({
      spec: { id: p.id, node: nodeOf(p.node, `producer ${p.id}`), topic: topicOf(p.topic, `producer ${p.id}`), acks: p.acks === 'all' ? -1 : p.acks, intervalMs: Math.max(1, Math.round(1000 / p.ratePerSec)), messages: p.messages },
      next: 0,
      settled: 0,
      instances: 0,
      inFlight: new Map<string, string>(),
    }));
    this.consumers = schedule.workload.consumers.map((c) => ({ id: c.id, node: nodeOf(c.node, `consumer ${c.id}`), topic: topicOf(c.topic, `consumer ${c.id}`) }));
  }

  get active(): boolean {
    return this.producers.length > 0 || this.consumers.length > 0;
  }

  private record(event: HistoryEvent): void {
    this.history.push(event);
  }

  private producersSettled(): boolean {
    return this.producers.every((p) => p.settled >= p.spec.messages);
  }

  /** Every value settled and every consumer made a full pass after that. */
  done(): boolean {
    return this.producersSettled() && this.consumers.every((c) => this.finalPass.has(c.id));
  }

  /** What was sent and how it ended, for specs and reports. */
  summary(): { invoked: number; ok: number; fail: number; indeterminate: number; reads: number } {
    const count = (type: HistoryEvent['type']): number => this.history.filter((e) => e.type === type).length;
    return { invoked: count('send.invoke'), ok: count('send.ok'), fail: count('send.fail'), indeterminate: count('send.indeterminate'), reads: count('read') };
  }

  /** Faults go into the history as the simulator applies them. */
  onTrace(e: TraceEvent): void {
    if (!e.ev.startsWith('fault.') && e.ev !== 'net.partition' && e.ev !== 'net.heal') return;
    if (e.ev === 'fault.skip' || e.ev === 'fault.link' || e.ev === 'fault.disk') return;
    const node = /^n(\d+)$/.exec(e.node);
    this.record({ t: e.t, type: 'fault', kind: e.ev.replace(/^(fault|net)\./, ''), node: node === null ? null : Number(node[1]) });
  }

  /** Leader changes of the workload's topics, as each node's committed image shows them step by step. */
  onImage(nodeId: number, image: MetadataImage, nowMs: number, records: (from: number, to: number) => MetadataRecord[] | null = () => null): void {
    const before = this.lastImage.get(nodeId);
    if (before === image) return;
    this.lastImage.set(nodeId, image);
    if (before === undefined) return;
    for (const name of this.partitionsOf.keys()) {
      const now = image.topicsByName.get(name);
      const was = before.topicsByName.get(name);
      if (now === undefined || was === undefined || now.topicId !== was.topicId) continue;
      now.partitions.forEach((p, i) => {
        const old = was.partitions[i];
        // One step of the leader epoch: the previous state is the one the election replaced.
        if (old === undefined || p.leaderEpoch !== old.leaderEpoch + 1 || p.leader === -1) return;
        const key = `${now.topicId}/${i}/${p.leaderEpoch}`;
        if (this.elections.has(key)) return;
        this.elections.add(key);
        // Unclean when a record in between says so (the image alone cannot tell an ISR expansion from it).
        const between = records(before.offset + 1, image.offset);
        const unclean = between !== null && between.some((r) => r.type === 'partition-change' && r.unclean && r.topicId === now.topicId && r.partitionId === i);
        this.record({ t: nowMs, type: 'election', topic: name, partition: i, leader: p.leader, leaderEpoch: p.leaderEpoch, unclean });
      });
    }
  }

  /** Starts this client node's producers and consumers; what an earlier incarnation left in flight is indeterminate. */
  attach(ctx: SimNodeContext, alive: () => boolean): void {
    const driver = (this.drivers.get(ctx.nodeId) ?? 0) + 1;
    this.drivers.set(ctx.nodeId, driver);
    const live = (): boolean => alive() && this.drivers.get(ctx.nodeId) === driver;
    const channel = new ClusterChannel(ctx.runtime, this.options.servers, (id) => `${ctx.hostOf(id)}:${this.options.port}`);
    for (const p of this.producers) {
      if (p.spec.node !== ctx.nodeId) continue;
      for (const [value, producer] of p.inFlight) {
        this.record({ t: this.options.sim.nowMs(), type: 'send.indeterminate', producer, value, reason: 'the client crashed' });
        p.settled++;
      }
      p.inFlight.clear();
      if (this.options.params.producer === 'real') void this.produceWithClient(p, ctx, live);
      else void this.produce(p, ctx.runtime, channel, live);
    }
    for (const c of this.consumers) {
      if (c.node !== ctx.nodeId) continue;
      if (this.options.params.consumer === 'real') void this.consumeWithClient(c, ctx, live);
      else void this.consume(c, ctx.runtime, channel, live);
    }
  }

  private async produce(state: ProducerState, runtime: Runtime, channel: ClusterChannel, live: () => boolean): Promise<void> {
    const { spec } = state;
    const { params } = this.options;
    const partitions = this.partitionsOf.get(spec.topic)!;
    while (live() && state.next < spec.messages) {
      const producer = `${spec.id}#${++state.instances}`;
      this.record({ t: this.options.sim.nowMs(), type: 'producer', producer, idempotent: params.idempotent, acks: spec.acks });
      let identity: { producerId: number; producerEpoch: number } | null = null;
      while (params.idempotent && identity === null && live()) {
        try {
          identity = await channel.client(channel.anyServer()).request('data.init-producer-id', {}, { timeoutMs: params.requestTimeoutMs });
        } catch (error) {
          if (!(error instanceof RaftlineError)) throw error;
          runtime.log.warn({ producer, code: error.code, reason: error.message }, 'data: init-producer-id failed; retrying');
          await sleep(runtime.clock, params.retryMs);
        }
      }
      const sequences = new Map<number, number>();
      // One producer instance sends until a send ends without a definite answer (its sequences are then unknown).
      while (live() && state.next < spec.messages) {
        const n = state.next++;
        const value = `${spec.id}-${n}`;
        const partition = n % partitions;
        state.inFlight.set(value, producer);
        this.record({ t: this.options.sim.nowMs(), type: 'send.invoke', producer, value, seq: n, topic: spec.topic, partition });
        const sequence = sequences.get(partition) ?? 0;
        const outcome = await this.sendOne(spec, runtime, channel, live, value, partition, identity === null ? null : { ...identity, sequence });
        if (!live()) return;
        state.inFlight.delete(value);
        state.settled++;
        const t = this.options.sim.nowMs();
        if (outcome.kind === 'ok') {
          this.record({ t, type: 'send.ok', producer, value, topic: spec.topic, partition, offset: outcome.offset, leader: outcome.leader });
          sequences.set(partition, sequence + 1);
        } else if (outcome.kind === 'fail') {
          this.record({ t, type: 'send.fail', producer, value, code: outcome.code });
        } else {
          this.record({ t, type: 'send.indeterminate', producer, value, reason: outcome.reason });
        }
        await sleep(runtime.clock, spec.intervalMs);
        if (outcome.kind === 'indeterminate' && params.idempotent) break;
      }
    }
  }

  /**
   * The real client: one Producer per client incarnation (a new producer id), `inFlight` sends outstanding, each
   * awaited for its metadata. A send that fails is recorded indeterminate: the client retried inside, and some
   * attempt may have been written.
   */
  private async produceWithClient(state: ProducerState, ctx: SimNodeContext, live: () => boolean): Promise<void> {
    const { spec } = state;
    const { params, sim } = this.options;
    const runtime = ctx.runtime;
    const partitions = this.partitionsOf.get(spec.topic)!;
    const idempotent = params.idempotent && spec.acks === -1;
    const producer = `${spec.id}#${++state.instances}`;
    this.record({ t: sim.nowMs(), type: 'producer', producer, idempotent, acks: spec.acks });
    const log = runtime.log.child({ actor: `producer-${spec.id}` });
    const channel = createWireChannel({ bootstrap: this.options.servers.map((id) => `${ctx.hostOf(id)}:${this.options.port}`), network: runtime.network, clock: runtime.clock, log, requestTimeoutMs: params.requestTimeoutMs });
    const client = new Producer(
      { acks: spec.acks === -1 ? 'all' : spec.acks, idempotence: idempotent, deliveryTimeoutMs: params.deliveryTimeoutMs, requestTimeoutMs: params.requestTimeoutMs, maxBlockMs: params.deliveryTimeoutMs, retryBackoffMs: params.retryMs },
      { channel, clock: runtime.clock, random: runtime.random.split(`producer/${spec.id}`), log },
    );
    const outstanding = new Set<Promise<void>>();
    while (live() && state.next < spec.messages) {
      while (outstanding.size >= params.inFlight) await Promise.race(outstanding);
      if (!live()) return;
      const n = state.next++;
      const value = `${spec.id}-${n}`;
      const partition = n % partitions;
      state.inFlight.set(value, producer);
      this.record({ t: sim.nowMs(), type: 'send.invoke', producer, value, seq: n, topic: spec.topic, partition });
      const done = client.send({ topic: spec.topic, partition, value: Buffer.from(value) }).then(
        (meta) => {
          if (!live()) return;
          state.inFlight.delete(value);
          state.settled++;
          if (meta.offset < 0) this.record({ t: sim.nowMs(), type: 'send.indeterminate', producer, value, reason: `acknowledged without an offset (acks=${spec.acks})` });
          else this.record({ t: sim.nowMs(), type: 'send.ok', producer, value, topic: spec.topic, partition: meta.partition, offset: meta.offset, leader: this.options.leaderNow?.(spec.topic, meta.partition) ?? -1 });
        },
        (error: unknown) => {
          if (!live()) return;
          state.inFlight.delete(value);
          state.settled++;
          this.record({ t: sim.nowMs(), type: 'send.indeterminate', producer, value, reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
        },
      );
      const tracked = done.finally(() => outstanding.delete(tracked));
      outstanding.add(tracked);
      await sleep(runtime.clock, spec.intervalMs);
    }
  }

  private async sendOne(
    spec: ProducerSpec,
    runtime: Runtime,
    channel: ClusterChannel,
    live: () => boolean,
    value: string,
    partition: number,
    idempotence: { producerId: number; producerEpoch: number; sequence: number } | null,
  ): Promise<{ kind: 'ok'; offset: number; leader: number } | { kind: 'fail'; code: string } | { kind: 'indeterminate'; reason: string }> {
    const { params } = this.options;
    const records = encodeBatch({
      records: [{ value: Buffer.from(value) }],
      timestamp: runtime.clock.now(),
      ...(idempotence === null ? {} : { producerId: idempotence.producerId, producerEpoch: idempotence.producerEpoch, baseSequence: idempotence.sequence }),
    });
    const deadline = this.options.sim.nowMs() + params.deliveryTimeoutMs;
    let maybeWritten = false;
    let lastCode = 'REQUEST_TIMED_OUT';
    while (live()) {
      const leader = await channel.leaderOf(spec.topic, partition, params.requestTimeoutMs);
      if (!live()) break;
      if (leader !== null) {
        const body = { acks: spec.acks, timeoutMs: params.requestTimeoutMs, topics: [{ name: spec.topic, partitions: [{ partitionId: partition, records }] }] };
        if (spec.acks === 0) {
          channel.client(leader).send('data.produce', body);
          return { kind: 'indeterminate', reason: 'acks=0 has no answer' };
        }
        let code: string;
        try {
          const r = await channel.client(leader).request('data.produce', body, { timeoutMs: params.requestTimeoutMs + 1_000 });
          const p = r.topics[0]?.partitions[0];
          if (p === undefined) throw new RaftlineError('INVALID_REQUEST', 'produce response without the partition');
          if (p.error === null) return { kind: 'ok', offset: p.baseOffset, leader };
          code = p.error.code;
        } catch (error) {
          if (!(error instanceof RaftlineError)) throw error;
          code = error.code;
        }
        if (!live()) break;
        lastCode = code;
        if (!notWrittenCodes.has(code)) maybeWritten = true;
        if (code === 'NOT_LEADER_OR_FOLLOWER' || code === 'FENCED_LEADER_EPOCH' || code === 'UNKNOWN_LEADER_EPOCH' || code === 'NETWORK_EXCEPTION' || code === 'REQUEST_TIMED_OUT' || code === 'LEADER_NOT_AVAILABLE') channel.forget(spec.topic, partition);
        if (finalCodes.has(code as ErrorCode)) break;
      }
      if (this.options.sim.nowMs() + params.retryMs > deadline) break;
      await sleep(runtime.clock, params.retryMs);
    }
    return maybeWritten ? { kind: 'indeterminate', reason: `no acknowledgement within ${params.deliveryTimeoutMs} ms (last: ${lastCode})` } : { kind: 'fail', code: lastCode };
  }

  private async consume(spec: ConsumerSpec, runtime: Runtime, channel: ClusterChannel, live: () => boolean): Promise<void> {
    const { params } = this.options;
    const partitions = this.partitionsOf.get(spec.topic)!;
    while (live()) {
      const final = this.producersSettled();
      let complete = true;
      for (let partition = 0; partition < partitions && live(); partition++) {
        if (!(await this.readPartition(spec, runtime, channel, live, partition))) complete = false;
      }
      if (!live()) return;
      if (final && complete) this.finalPass.add(spec.id);
      await sleep(runtime.clock, params.consumerPassMs);
    }
  }

  /**
   * The real client: one Consumer per client incarnation, assigned every partition of the topic. Each pass seeks to
   * the beginning and polls until every partition's position reached the high watermark its last fetch carried (then
   * `read.end`), or the pass's polls run out. Each record is recorded with the high watermark of the fetch response
   * that carried it. OFFSET_OUT_OF_RANGE (a leader whose log was cut) resets to the earliest offset, as configured.
   */
  private async consumeWithClient(spec: ConsumerSpec, ctx: SimNodeContext, live: () => boolean): Promise<void> {
    const { params, sim } = this.options;
    const runtime = ctx.runtime;
    const partitions = this.partitionsOf.get(spec.topic)!;
    const log = runtime.log.child({ actor: `consumer-${spec.id}` });
    const channel = createWireChannel({ bootstrap: this.options.servers.map((id) => `${ctx.hostOf(id)}:${this.options.port}`), network: runtime.network, clock: runtime.clock, log, requestTimeoutMs: params.requestTimeoutMs });
    const client = new Consumer({ clientId: spec.id, autoOffsetReset: 'earliest', fetchMaxWaitMs: 0, retryBackoffMs: params.retryMs }, { channel, clock: runtime.clock, log });
    const tps = Array.from({ length: partitions }, (_, partition) => ({ topic: spec.topic, partition }));
    client.assign(tps);
    const pollMs = Math.max(1, Math.min(500, params.requestTimeoutMs));
    try {
      while (live()) {
        const final = this.producersSettled();
        client.seekToBeginning(tps);
        // Per partition this pass: the next offset to read (records come in offset order) and whether it ended.
        const next = new Map<number, number>();
        const ended = new Set<number>();
        for (let polls = 0; polls < consumerPassPollsMax && ended.size < partitions && live(); polls++) {
          const records = await client.poll(pollMs);
          if (!live()) return;
          const t = sim.nowMs();
          for (const r of records) {
            if (r.value === null) continue;
            this.record({ t, type: 'read', consumer: spec.id, topic: spec.topic, partition: r.partition, offset: r.offset, value: r.value.toString('utf8'), highWatermark: r.highWatermark });
            next.set(r.partition, r.offset + 1);
          }
          for (const tp of tps) {
            const hw = client.highWatermark(tp);
            if (ended.has(tp.partition) || hw < 0 || (next.get(tp.partition) ?? 0) < hw) continue;
            ended.add(tp.partition);
            this.record({ t, type: 'read.end', consumer: spec.id, topic: spec.topic, partition: tp.partition, highWatermark: hw });
          }
        }
        if (!live()) return;
        if (final && ended.size === partitions) this.finalPass.add(spec.id);
        await sleep(runtime.clock, params.consumerPassMs);
      }
    } finally {
      client.close();
      channel.close();
    }
  }

  /** Reads a partition from offset 0 to the high watermark; false when it could not get there this pass. */
  private async readPartition(spec: ConsumerSpec, runtime: Runtime, channel: ClusterChannel, live: () => boolean, partition: number): Promise<boolean> {
    const { params } = this.options;
    let position = 0;
    for (let attempt = 0; attempt < 20 && live(); attempt++) {
      const leader = await channel.leaderOf(spec.topic, partition, params.requestTimeoutMs);
      if (!live()) return false;
      if (leader === null) {
        await sleep(runtime.clock, params.retryMs);
        continue;
      }
      try {
        const r = await channel.client(leader).request('data.fetch', {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: fetchBytesMax,
          topics: [{ name: spec.topic, partitions: [{ partitionId: partition, fetchOffset: position, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: fetchBytesMax }] }],
        }, { timeoutMs: params.requestTimeoutMs });
        if (!live()) return false;
        const p = r.topics[0]?.partitions[0];
        if (p === undefined) return false;
        if (p.error !== null) {
          channel.forget(spec.topic, partition);
          await sleep(runtime.clock, params.retryMs);
          continue;
        }
        const t = this.options.sim.nowMs();
        let read = 0;
        for (const { position: at } of batchesIn(p.records)) {
          for (const record of decodeRecords(p.records, at)) {
            if (record.offset < position || record.value === null) continue;
            this.record({ t, type: 'read', consumer: spec.id, topic: spec.topic, partition, offset: record.offset, value: record.value.toString('utf8'), highWatermark: p.highWatermark });
            position = record.offset + 1;
            read++;
          }
        }
        if (position >= p.highWatermark) {
          this.record({ t, type: 'read.end', consumer: spec.id, topic: spec.topic, partition, highWatermark: p.highWatermark });
          return true;
        }
        if (read === 0) await sleep(runtime.clock, params.retryMs);
      } catch (error) {
        if (!(error instanceof RaftlineError)) throw error;
        channel.forget(spec.topic, partition);
        await sleep(runtime.clock, params.retryMs);
      }
    }
    return false;
  }
}

export function dataParams(raw: Record<string, number | string | boolean>): DataParams {
  const num = (key: string, fallback: number): number => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !(v > 0)) throw new TypeError(`cluster: params.${key} must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const idempotent = raw['idempotent'] ?? true;
  const producer = raw['producer'] ?? 'real';
  if (producer !== 'real' && producer !== 'wire') throw new TypeError(`cluster: params.producer must be real or wire, got ${JSON.stringify(producer)}`);
  const consumer = raw['consumer'] ?? 'real';
  if (consumer !== 'real' && consumer !== 'wire') throw new TypeError(`cluster: params.consumer must be real or wire, got ${JSON.stringify(consumer)}`);
  if (typeof idempotent !== 'boolean') throw new TypeError(`cluster: params.idempotent must be true or false, got ${JSON.stringify(idempotent)}`);
  return {
    producer,
    inFlight: Math.max(1, Math.floor(num('inFlight', 5))),
    idempotent,
    deliveryTimeoutMs: num('deliveryTimeoutMs', 10_000),
    requestTimeoutMs: num('requestTimeoutMs', 3_000),
    retryMs: num('retryMs', 100),
    consumerPassMs: num('consumerPassMs', 1_000),
    consumer,
  };
}

export const dataParamKeys = ['producer', 'consumer', 'inFlight', 'idempotent', 'deliveryTimeoutMs', 'requestTimeoutMs', 'retryMs', 'consumerPassMs'];
