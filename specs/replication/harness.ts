// An in-process replication cluster for specs: N ReplicaManagers, each on its own SimDisk, sharing a manual clock;
// the real controller core (src/controller/commands.ts via the controller specs' Harness) holds the metadata image
// and answers AlterPartition and AllocateProducerIds, and every committed change is published to every manager.
// Fetches between brokers go through the wire codec (encode → decode → zod), and a broker can be cut off.
import { ReplicaManager, type ReplicationSettings } from '../../src/replication/replica-manager.js';
import { alterPartition, allocateProducerIds, brokerHeartbeat, createTopics, fenceBroker, isCommandError, type CommandContext, type CommandOutcome, type CreatableTopic } from '../../src/controller/commands.js';
import type { MetadataImage } from '../../src/controller/image.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import { encodeBatch, batchesIn, decodeRecords } from '../../src/storage/record-batch.js';
import type { FetchRequest, FetchResponse, ProduceRequest, ProducePartitionResponse } from '../../src/wire/data.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { wireRegistry } from '../../src/wire/registry.js';
import { SimDisk } from '../../sim/runtime/disk.js';
import { Harness } from '../controller/fixtures.js';
import { createManualClock, type ManualClock } from '../helpers/manual-clock.js';

export const settle = async (rounds = 4): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

export interface ClusterOptions {
  brokers?: number;
  settings?: Partial<ReplicationSettings>;
  seed?: number;
}

export class ReplicationCluster {
  readonly clock: ManualClock = createManualClock();
  readonly core: Harness;
  readonly managers = new Map<number, ReplicaManager>();
  readonly disks = new Map<number, SimDisk>();
  /** Brokers cut off from every other broker (their fetches fail, fetches to them fail). */
  readonly isolated = new Set<number>();
  /** AlterPartition requests the controller answered, for specs. */
  readonly alterRequests: Array<{ brokerId: number; newIsr: readonly number[] }> = [];
  private readonly settings: Partial<ReplicationSettings>;

  constructor(options: ClusterOptions = {}) {
    this.core = new Harness(options.seed ?? 7);
    this.settings = { lagTimeMaxMs: 2_000, fetchWaitMaxMs: 200, fetchBackoffMs: 50, requestTimeoutMs: 1_000, ...options.settings };
    for (let id = 1; id <= (options.brokers ?? 3); id++) {
      this.core.addBroker(id);
      this.disks.set(id, new SimDisk({ random: createSeededRandom(`disk-${id}`) }));
      this.startBroker(id);
    }
  }

  startBroker(id: number): ReplicaManager {
    const manager = new ReplicaManager({
      brokerId: id,
      clusterId: 'replication-spec',
      clock: this.clock,
      disk: this.disks.get(id)!,
      logger: silentLogger,
      settings: this.settings,
      controller: {
        alterPartition: async (proposal) => {
          if (this.isolated.has(id)) throw new RaftlineError('NETWORK_EXCEPTION', `broker ${id} is cut off`);
          const answer = this.command((img, ctx) => alterPartition(img, { brokerId: id, brokerEpoch: this.core.epoch(id), ...proposal }, ctx));
          this.alterRequests.push({ brokerId: id, newIsr: proposal.newIsr });
          return answer;
        },
        allocateProducerIds: async () => this.command((img, ctx) => allocateProducerIds(img, { brokerId: id, brokerEpoch: this.core.epoch(id) }, ctx)),
      },
      send: (leaderId, request, timeoutMs) => this.fetchOverWire(id, leaderId, request, timeoutMs),
      controllerId: () => 0,
    });
    this.managers.set(id, manager);
    void manager.applyImage(this.core.image);
    return manager;
  }

  manager(id: number): ReplicaManager {
    const m = this.managers.get(id);
    if (m === undefined) throw new Error(`broker ${id} is not running`);
    return m;
  }

  /** Runs a controller command; on success every running manager gets the new image. */
  command<R>(fn: (image: MetadataImage, ctx: CommandContext) => CommandOutcome<R>): R {
    const outcome = this.core.run(fn);
    if (outcome instanceof RaftlineError) throw outcome;
    this.publish();
    return outcome;
  }

  publish(): void {
    for (const m of this.managers.values()) void m.applyImage(this.core.image);
  }

  /** Creates a topic with explicit replica lists and waits until every hosting broker has taken its role. */
  async createTopic(name: string, assignments: number[][], configs: Record<string, string> = {}): Promise<void> {
    const topic: CreatableTopic = { name, numPartitions: -1, replicationFactor: -1, assignments, configs };
    const outcome = createTopics(this.core.image, { topics: [topic], validateOnly: false }, this.core.ctx());
    if (isCommandError(outcome)) throw outcome;
    this.core.ok(() => outcome);
    this.publish();
    await this.runUntil(
      () =>
        assignments.every((replicas, partitionId) =>
          replicas.every((id) => {
            const role = this.managers.get(id)?.replica(name, partitionId)?.currentRole;
            return role === (this.partition(name, partitionId).leader === id ? 'leader' : 'follower');
          }),
        ),
      1_000,
      `topic ${name} in place`,
    );
  }

  /** The controller fences a broker (its session expired): it leaves every ISR, its leaderships move. */
  fence(id: number): void {
    this.core.ok((img, ctx) => fenceBroker(img, id, ctx));
    this.publish();
  }

  /** The broker heartbeats caught up again and is unfenced. */
  unfence(id: number): void {
    this.core.ok((img, ctx) => brokerHeartbeat(img, { brokerId: id, brokerEpoch: this.core.epoch(id), currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
    this.publish();
  }

  partition(topic: string, partitionId = 0) {
    const t = this.core.image.topicsByName.get(topic);
    const p = t?.partitions[partitionId];
    if (p === undefined) throw new Error(`no partition ${topic}-${partitionId}`);
    return p;
  }

  private async fetchOverWire(from: number, leaderId: number, request: FetchRequest, timeoutMs: number): Promise<FetchResponse> {
    const leader = this.managers.get(leaderId);
    if (leader === undefined || this.isolated.has(from) || this.isolated.has(leaderId)) {
      // An unreachable broker: the RPC client's timeout, on the shared clock.
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, Math.min(timeoutMs, 100)));
      throw new RaftlineError('NETWORK_EXCEPTION', `broker ${leaderId} is unreachable from ${from}`);
    }
    const decoded = wireRegistry.decodeRequest(wireRegistry.encodeRequest('data.fetch', 1, request));
    if (!decoded.ok || decoded.value.api !== 'data.fetch') throw new Error(`fetch request does not pass its schema: ${decoded.ok ? '' : decoded.rejection.reason}`);
    const response = await leader.fetch(decoded.value.body);
    if (this.isolated.has(from) || this.isolated.has(leaderId) || this.managers.get(leaderId) !== leader) {
      throw new RaftlineError('NETWORK_EXCEPTION', `connection to ${leaderId} lost`);
    }
    const envelope = wireRegistry.decodeEnvelope(wireRegistry.encodeResponse('data.fetch', 1, response));
    if (!envelope.ok) throw new Error(envelope.rejection.reason);
    const parsed = wireRegistry.parseResponse('data.fetch', envelope.value);
    if (!parsed.ok || parsed.value.body === undefined) throw new Error('fetch response does not pass its schema');
    return parsed.value.body;
  }

  /** Advances the shared clock by `ms` in steps, letting promises run in between. */
  async run(ms: number, stepMs = 10): Promise<void> {
    for (let t = 0; t < ms; t += stepMs) {
      this.clock.advance(Math.min(stepMs, ms - t));
      await settle();
    }
  }

  /** Runs the clock until `condition` holds, failing after `ms` of virtual time. */
  async runUntil(condition: () => boolean, ms: number, what: string, stepMs = 10): Promise<void> {
    await settle();
    for (let t = 0; !condition(); t += stepMs) {
      if (t > ms) throw new Error(`not within ${ms} ms of virtual time: ${what}`);
      this.clock.advance(stepMs);
      await settle();
    }
  }

  /** Awaits a promise while the clock runs (it may need timers or fetch rounds to settle). */
  async await<T>(promise: Promise<T>, ms = 10_000, what = 'a request'): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    promise.then(
      (v) => {
        done = true;
        value = v;
      },
      (e: unknown) => {
        done = true;
        error = e ?? new Error('rejected');
      },
    );
    await this.runUntil(() => done, ms, what);
    if (error !== undefined) throw error;
    return value as T;
  }

  /** Produces one batch to `broker` and returns that partition's answer (after the clock ran as needed). */
  async produce(broker: number, topic: string, records: Uint8Array, acks: 0 | 1 | -1 = -1, timeoutMs = 5_000, partitionId = 0): Promise<ProducePartitionResponse> {
    const request: ProduceRequest = { acks, timeoutMs, topics: [{ name: topic, partitions: [{ partitionId, records }] }] };
    const response = await this.await(this.manager(broker).produce(request), timeoutMs + 5_000, `produce to ${broker}`);
    const p = response.topics[0]?.partitions[0];
    if (p === undefined) throw new Error('produce response without the partition');
    return p;
  }

  /** Every record value of a broker's log for the partition, in offset order (straight from its log). */
  async logValues(broker: number, topic: string, partitionId = 0): Promise<Array<[number, string]>> {
    const replica = this.manager(broker).replica(topic, partitionId);
    if (replica === undefined) throw new Error(`broker ${broker} hosts no ${topic}-${partitionId}`);
    const out: Array<[number, string]> = [];
    let offset = replica.logStartOffset;
    while (offset < replica.logEndOffset) {
      const bytes = await replica.read(offset, 1 << 20, 'log-end', true);
      if (bytes.byteLength === 0) break;
      for (const { header, position } of batchesIn(bytes)) {
        for (const r of decodeRecords(bytes, position)) out.push([r.offset, r.value?.toString('utf8') ?? '']);
        offset = header.lastOffset + 1;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.managers.values()].map((m) => m.close()));
    this.managers.clear();
  }
}

/** A plain batch of string values. */
export function batch(values: string[], timestamp = 1_700_000_000_000): Buffer {
  return encodeBatch({ records: values.map((v) => ({ value: Buffer.from(v) })), timestamp });
}

/** An idempotent producer's batch. */
export function idempotentBatch(values: string[], producerId: number, baseSequence: number, producerEpoch = 0): Buffer {
  return encodeBatch({ records: values.map((v) => ({ value: Buffer.from(v) })), timestamp: 1_700_000_000_000, producerId, producerEpoch, baseSequence });
}
